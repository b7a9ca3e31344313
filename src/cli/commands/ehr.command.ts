import type { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { loadFhirData } from '../../ehr/ehr-data.loader';
import { checkClient, readClientsFile, type EhrClient } from '../../ehr/ehr-clients';
import { SMART_APP_CLIENT_ID, smartAppRegistration } from '../../smart/smart-app.registration';
import { startEhrServer, type EhrServer } from '../../ehr/ehr-server';
import { PATIENT_CHART_TOPIC } from '../../ehr/subscription-config';

export interface EhrCommandOptions {
  fhir: string[];
  host: string;
  port: string;
  clients?: string;
  open?: boolean;
  cdsServices?: string;
  faults?: boolean;
  deliveryAttempts?: string;
  deliveryBackoffMs?: string;
}

/** Starts the local EHR and prints where everything is; resolves once it listens. */
export async function runEhrCommand(opts: EhrCommandOptions, err: (line: string) => void): Promise<EhrServer> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${opts.port}: expected a port number (0 picks a free one)`);
  if (opts.cdsServices !== undefined && !/^https?:\/\/\S+$/.test(opts.cdsServices)) throw new CliError(`--cds-services ${opts.cdsServices}: expected the http(s) URL of a CDS service's /cds-services`);
  const maxAttempts = Number(opts.deliveryAttempts ?? '5');
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) throw new CliError(`--delivery-attempts ${opts.deliveryAttempts}: expected a whole number 1-100`);
  const backoffMs = Number(opts.deliveryBackoffMs ?? '1000');
  if (!Number.isInteger(backoffMs) || backoffMs < 0 || backoffMs > 600_000) throw new CliError(`--delivery-backoff-ms ${opts.deliveryBackoffMs}: expected milliseconds 0-600000`);
  const clients: EhrClient[] = opts.clients ? readClientsFile(opts.clients) : [];
  // The CDS service's own SMART app (its medication review page) is registered with it, unless the file registers it already.
  if (opts.cdsServices && !clients.some((c) => c.client_id === SMART_APP_CLIENT_ID)) {
    clients.push(checkClient(smartAppRegistration(opts.cdsServices.replace(/\/cds-services\/?$/, '')), 'the CDS service\'s SMART app'));
  }
  const started = Date.now();
  const server = await startEhrServer({
    host: opts.host, port, clients, open: opts.open === true, cdsServices: opts.cdsServices,
    load: async (repo) => {
      await loadFhirData(repo, opts.fhir, err);
    },
    log: err,
    delivery: { maxAttempts, backoffMs },
    faults: opts.faults === true,
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') throw new CliError(`--host ${opts.host} --port ${opts.port}: cannot listen (${e.code})`);
    throw e;
  });
  const counts = server.repo.counts();
  err(`leader ehr: ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')} in memory (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  err(`  launcher page      ${server.url}/`);
  err(`  FHIR R4 base       ${server.fhirBase}${opts.open ? '   (open: no token needed)' : '   (SMART access token required)'}`);
  err(`  SMART config       ${server.fhirBase}/.well-known/smart-configuration`);
  err(`  clients            ${clients.length === 0 ? 'none registered (--clients FILE)' : clients.map((c) => `${c.client_id} (${c.type})`).join(', ')}`);
  if (opts.cdsServices) err(`  CDS service        ${opts.cdsServices}`);
  err(`  Subscriptions      rest-hook, topic ${PATIENT_CHART_TOPIC} and classic criteria; ${maxAttempts} attempts, first retry after ${backoffMs} ms${opts.faults ? '; fault switches at /ehr/faults, log at /ehr/deliveries' : ''}`);
  err('Local test EHR, not a clinical data store: data lives in memory only. Ctrl-C stops it.');
  return server;
}

export function register(program: Command): void {
  program
    .command('ehr')
    .description('Run a local test EHR: a FHIR R4 server (Medplum router, in memory) with SMART App Launch and Backend Services authorization, loaded from NDJSON or Bundle folders')
    .requiredOption('--fhir <dir...>', 'FHIR data to load: NDJSON folders (e.g. out/fhir-mimic-iv) and/or Bundle folders; repeatable')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8080')
    .option('--clients <file>', 'registered SMART apps and backend-services clients, JSON {"clients": [...]} (see README "Local EHR")')
    .option('--open', 'serve FHIR without an access token (local demo only)')
    .option('--delivery-attempts <n>', 'Subscription notifications: attempts before the Subscription goes to error', '5')
    .option('--delivery-backoff-ms <ms>', 'Subscription notifications: wait before the first retry, doubled for each further one', '1000')
    .option('--faults', 'tests only: serve POST /ehr/faults (duplicate, reorder, drop, wrongSecret, fhirErrors) and GET /ehr/deliveries')
    .option('--cds-services <url>', 'a CDS service discovery URL (…/cds-services) for the launcher\'s order-select button; its SMART app (…/smart/launch) is registered too')
    .action(async (opts: EhrCommandOptions) => {
      const server = await runEhrCommand(opts, (line) => process.stderr.write(`${line}\n`));
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.stderr.write('leader ehr: stopping\n');
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

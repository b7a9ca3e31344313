import type { JsonWebKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Subscription } from 'fhir/r4';
import { CliError } from '../../common/cli-error';
import { ConfigError, DEFAULT_SUBSCRIPTIONS_SCOPE, loadSubscriptionSettings, type SubscriptionSettings } from '../../config/app-config';
import { FhirServerClient, FhirServerError } from '../../fhir/fhir-server.client';
import { BackendTokenClient, BackendTokenError } from '../../subscriptions/backend-token';
import { newBackendPrivateJwk, publicJwkOf } from '../../subscriptions/backend-client-keys';
import { readClientsFile } from '../../ehr/ehr-clients';
import { PATIENT_CHART_TOPIC } from '../../fhir/subscriptions-backport';
import { parseNotification } from '../../subscriptions/notification.parser';
import { SubscriptionStore, type Registration } from '../../subscriptions/subscription.store';
import { advertisesTopic, classicCriteria, endpointOf, subscriptionResource, type PayloadContent } from '../../subscriptions/subscription-resource';

interface CreateOptions { fhir: string; service: string; classic?: boolean; payload: string; patient?: string; heartbeat: string }
interface ScopeOptions { fhir?: string; id?: string }

const PAYLOADS = ['empty', 'id-only', 'full-resource'];

/**
 * `leader subscribe`: places, renews, lists and removes the FHIR Subscriptions that make a FHIR server
 * notify this service when a patient's chart changes. Registrations (endpoint id and secret) live in the
 * service's queue database (LEADER_DATA_DIR/subscriptions.sqlite), so run it where the service runs.
 * It reaches the FHIR server with the service's backend-services client (SUBSCRIPTIONS_CLIENT_ID,
 * SUBSCRIPTIONS_PRIVATE_KEY_FILE).
 */
export function register(program: Command): void {
  const subscribe = program.command('subscribe').description('FHIR Subscriptions that send chart changes to this service (create, list, renew, delete, dead-letters)');
  subscribe.command('create')
    .description('Subscribe this service to a FHIR server: Backport R4 topic-based by default, --classic for criteria-based (Encounter, Condition, Procedure, MedicationRequest)')
    .requiredOption('--fhir <url>', 'FHIR R4 base URL')
    .option('--service <url>', 'this service\'s base URL as the FHIR server reaches it (notifications go to <url>/fhir-notifications/…)', 'http://127.0.0.1:3000')
    .option('--classic', 'classic R4 criteria-based Subscriptions (HAPI, Medplum, Firely) instead of the Backport topic')
    .option('--payload <content>', 'empty | id-only | full-resource (classic: empty = an empty POST, otherwise the server PUTs the resource)', 'id-only')
    .option('--patient <id>', 'only this patient\'s changes')
    .option('--heartbeat <seconds>', 'topic-based: heartbeat period (0 = none); silence past twice this makes the service ask $status', '60')
    .action(async (opts: CreateOptions) => {
      if (!PAYLOADS.includes(opts.payload)) throw new CliError(`--payload ${opts.payload}: expected ${PAYLOADS.join(', ')}`);
      if (!/^\d{1,6}$/.test(opts.heartbeat)) throw new CliError(`--heartbeat ${opts.heartbeat}: expected whole seconds`);
      if (opts.patient !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(opts.patient)) throw new CliError(`--patient ${opts.patient}: expected a Patient id`);
      const service = baseUrl(opts.service, '--service');
      const fhir = baseUrl(opts.fhir, '--fhir');
      await withContext(async ({ store, clientFor }) => {
        const client = await clientFor(fhir);
        if (!opts.classic) {
          const cs = await client.capabilityStatement();
          if (!advertisesTopic(cs)) throw new CliError(`${fhir} does not advertise the topic ${PATIENT_CHART_TOPIC} in its CapabilityStatement; use --classic for criteria-based Subscriptions`);
        }
        const plans = opts.classic
          ? classicCriteria(opts.patient).map((criteria) => ({ kind: 'classic' as const, criteria }))
          : [{ kind: 'topic' as const, criteria: PATIENT_CHART_TOPIC }];
        for (const plan of plans) {
          const reg = store.createRegistration({ fhirServer: fhir, ...plan, ...(plan.kind === 'topic' && Number(opts.heartbeat) > 0 ? { heartbeatSeconds: Number(opts.heartbeat) } : {}), ...(opts.patient ? { patientFilter: `Patient/${opts.patient}` } : {}) });
          let created: Subscription;
          try {
            created = await client.send('POST', 'Subscription', subscriptionResource(reg, service, { payload: opts.payload as PayloadContent })) as Subscription;
            if (typeof created?.id !== 'string') throw new CliError(`${fhir}/Subscription: the server created no Subscription id`);
          } catch (e) {
            store.deleteRegistration(reg.id);
            throw e;
          }
          store.setSubscriptionId(reg.id, created.id);
          process.stdout.write(`created Subscription/${created.id} (${plan.kind}: ${plan.criteria}, payload ${opts.payload}) → ${endpointOf(service, reg.id)}\n`);
        }
      });
    });

  subscribe.command('backend-client')
    .description('Make this service\'s backend-services key (kept if the file exists) and a `leader ehr --clients` file that registers it')
    .requiredOption('--key <file>', 'private JWK (ES384) for SUBSCRIPTIONS_PRIVATE_KEY_FILE; created if missing, reused otherwise')
    .requiredOption('--clients <file>', 'the clients file to write for `leader ehr --clients`')
    .option('--merge <file>', 'a clients file whose clients are kept beside the backend client')
    .option('--client-id <id>', 'the backend client id (SUBSCRIPTIONS_CLIENT_ID)', 'leader-cds-backend')
    .option('--scope <scopes>', 'the scopes the client may be granted (SUBSCRIPTIONS_SCOPE must be within them)', DEFAULT_SUBSCRIPTIONS_SCOPE)
    .action((opts: { key: string; clients: string; merge?: string; clientId: string; scope: string }) => {
      const others = opts.merge ? readClientsFile(opts.merge).filter((c) => c.client_id !== opts.clientId) : [];
      let privateJwk: JsonWebKey;
      if (existsSync(opts.key)) {
        try {
          privateJwk = JSON.parse(readFileSync(opts.key, 'utf8')) as JsonWebKey;
          publicJwkOf(privateJwk); // fails on what is not a private key
        } catch (e) {
          throw new CliError(`--key ${opts.key}: not a private JWK (${oneLine(e)}); delete it to make a new one`);
        }
      } else {
        privateJwk = newBackendPrivateJwk(`${opts.clientId}-1`);
        mkdirSync(path.dirname(path.resolve(opts.key)), { recursive: true });
        writeFileSync(opts.key, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
      }
      const backend = { client_id: opts.clientId, name: 'leader-cds write-back (FHIR Subscriptions)', type: 'backend', scope: opts.scope, jwks: { keys: [publicJwkOf(privateJwk)] } };
      mkdirSync(path.dirname(path.resolve(opts.clients)), { recursive: true });
      writeFileSync(opts.clients, `${JSON.stringify({ clients: [...others, backend] }, null, 2)}\n`);
      process.stdout.write(`backend client ${opts.clientId}: key ${opts.key}, clients file ${opts.clients}${others.length ? ` (with ${others.length} client(s) from ${opts.merge})` : ''}\n`);
    });

  subscribe.command('list')
    .description('This service\'s Subscriptions with their status on the FHIR server ($status for topic-based) and the local queue')
    .option('--fhir <url>', 'only those on this FHIR server')
    .option('--json', 'print JSON')
    .action(async (opts: ScopeOptions & { json?: boolean }) => {
      await withContext(async ({ store, clientFor }) => {
        const rows = [];
        for (const reg of selected(store, opts)) {
          const counts = store.counts(reg.id);
          let server: { status?: string; error?: string; eventsSinceStart?: number } = {};
          try {
            const client = await clientFor(reg.fhirServer);
            const sub = await client.read<Subscription>(`Subscription/${reg.subscriptionId}`);
            server = { status: sub.status, ...(sub.error ? { error: sub.error } : {}) };
            if (reg.kind === 'topic') {
              const status = parseNotification(await client.read(`Subscription/${reg.subscriptionId}/$status`));
              if (status.kind === 'topic' && status.eventsSinceStart !== undefined) server.eventsSinceStart = status.eventsSinceStart;
            }
          } catch (e) {
            server = { status: 'unknown', error: oneLine(e) };
          }
          rows.push({ registration: reg.id, subscription: `Subscription/${reg.subscriptionId ?? '?'}`, fhirServer: reg.fhirServer, kind: reg.kind, criteria: reg.criteria, ...server, eventsHeard: reg.knownEvents, lastHeard: reg.lastHeardMs ? new Date(reg.lastHeardMs).toISOString() : null, queue: counts });
        }
        if (opts.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        if (rows.length === 0) return void process.stdout.write('no subscriptions registered (leader subscribe create --fhir URL)\n');
        for (const r of rows) {
          process.stdout.write(`${r.subscription} ${r.kind} ${r.criteria} on ${r.fhirServer}: ${r.status}${r.error ? ` (${r.error})` : ''}`
            + `${r.eventsSinceStart !== undefined ? `, server events ${r.eventsSinceStart}` : ''}, heard ${r.eventsHeard}, last heard ${r.lastHeard ?? 'never'}`
            + `; queue pending ${r.queue.pending + r.queue.processing}, done ${r.queue.done}, dead ${r.queue.dead} [registration ${r.registration}]\n`);
        }
      });
    });

  subscribe.command('renew')
    .description('Re-activate Subscriptions the server put in error or off (status requested: the server handshakes again)')
    .option('--fhir <url>', 'only those on this FHIR server')
    .option('--id <registration>', 'only this registration')
    .action(async (opts: ScopeOptions) => {
      await withContext(async ({ store, clientFor }) => {
        for (const reg of selected(store, opts)) {
          const client = await clientFor(reg.fhirServer);
          const sub = await client.read<Subscription>(`Subscription/${reg.subscriptionId}`);
          if (sub.status === 'active' || sub.status === 'requested') {
            process.stdout.write(`Subscription/${reg.subscriptionId}: ${sub.status}, left as is\n`);
            continue;
          }
          const renewed: Subscription = { ...sub, status: 'requested' };
          delete renewed.error;
          await client.send('PUT', `Subscription/${reg.subscriptionId}`, renewed);
          // Missed events: a topic subscription's handshake reveals the server's count ($events fills the gap); classic ones are re-queried.
          if (reg.kind === 'classic') store.queuePoll(reg.id);
          process.stdout.write(`Subscription/${reg.subscriptionId}: ${sub.status} → requested${sub.error ? ` (was: ${sub.error})` : ''}\n`);
        }
      });
    });

  subscribe.command('delete')
    .description('Delete Subscriptions on the FHIR server and their registrations here')
    .option('--fhir <url>', 'only those on this FHIR server')
    .option('--id <registration>', 'only this registration')
    .action(async (opts: ScopeOptions) => {
      await withContext(async ({ store, clientFor }) => {
        for (const reg of selected(store, opts)) {
          if (reg.subscriptionId) {
            const client = await clientFor(reg.fhirServer);
            try {
              await client.send('DELETE', `Subscription/${reg.subscriptionId}`);
            } catch (e) {
              if (!(e instanceof FhirServerError && (e.status === 404 || e.status === 410))) throw e;
            }
          }
          store.deleteRegistration(reg.id);
          process.stdout.write(`deleted Subscription/${reg.subscriptionId ?? '?'} and registration ${reg.id}\n`);
        }
      });
    });

  subscribe.command('dead-letters')
    .description('Events that failed SUBSCRIPTIONS_MAX_ATTEMPTS times; --retry puts them back in the queue')
    .option('--id <registration>', 'only this registration')
    .option('--retry', 'queue them again (attempts reset)')
    .option('--json', 'print JSON')
    .action(async (opts: { id?: string; retry?: boolean; json?: boolean }) => {
      await withContext(async ({ store }) => {
        if (opts.id && !store.registration(opts.id)) throw new CliError(`--id ${opts.id}: no such registration (leader subscribe list)`);
        const dead = store.jobs({ status: 'dead', ...(opts.id ? { registration: opts.id } : {}) });
        if (opts.json) process.stdout.write(`${JSON.stringify(dead, null, 2)}\n`);
        else if (dead.length === 0) process.stdout.write('no dead letters\n');
        else for (const j of dead) process.stdout.write(`${new Date(j.receivedMs).toISOString()} registration ${j.registration} ${j.key}${j.focus ? ` (${j.focus})` : ''}: ${j.attempts} attempts; ${j.lastError ?? ''}\n`);
        if (opts.retry) process.stdout.write(`queued again: ${store.retryDeadLetters(opts.id)}\n`);
      });
    });
}

interface Context {
  store: SubscriptionStore;
  clientFor(fhirServer: string): Promise<FhirServerClient>;
}

/** Settings, the store and a token per FHIR server; every failure becomes one CliError line. */
async function withContext(work: (ctx: Context) => Promise<void>): Promise<void> {
  let settings: SubscriptionSettings;
  try {
    settings = loadSubscriptionSettings(process.env);
  } catch (e) {
    throw new CliError((e as ConfigError).message);
  }
  const store = SubscriptionStore.open(settings.databaseFile);
  let tokens: BackendTokenClient | undefined;
  const clientFor = async (fhirServer: string) => {
    if (!settings.clientId || !settings.privateKeyFile) throw new CliError('set SUBSCRIPTIONS_CLIENT_ID and SUBSCRIPTIONS_PRIVATE_KEY_FILE (the backend-services client registered at the FHIR server)');
    tokens ??= new BackendTokenClient({ clientId: settings.clientId, privateKeyFile: settings.privateKeyFile, scope: settings.scope, ...(settings.tokenUrl ? { tokenUrl: settings.tokenUrl } : {}) });
    return new FhirServerClient(fhirServer, { bearerToken: await tokens.token(fhirServer), timeoutMs: 15_000 });
  };
  try {
    await work({ store, clientFor });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(oneLine(e));
  } finally {
    store.close();
  }
}

function selected(store: SubscriptionStore, opts: ScopeOptions): Registration[] {
  const fhir = opts.fhir?.replace(/\/+$/, '');
  const regs = store.registrations().filter((r) => (!fhir || r.fhirServer === fhir) && (!opts.id || r.id === opts.id));
  if (opts.id && regs.length === 0) throw new CliError(`--id ${opts.id}: no such registration (leader subscribe list)`);
  return regs;
}

function baseUrl(raw: string, option: string): string {
  try {
    const u = new URL(raw);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) throw new Error('not a base');
  } catch {
    throw new CliError(`${option} ${raw}: expected an absolute http(s) base URL`);
  }
  return raw.replace(/\/+$/, '');
}

function oneLine(e: unknown): string {
  if (e instanceof FhirServerError || e instanceof BackendTokenError) return e.message.split('\n')[0];
  return ((e as Error)?.message ?? String(e)).split('\n')[0];
}

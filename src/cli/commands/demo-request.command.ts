/**
 * `leader demo-request`: prints a real CDS Hooks request (full prefetch, a draft order from the
 * patient's last visit) built from converted FHIR data, ready to pipe into curl.
 */
import { Command } from 'commander';
import { CdsServicesRegistry } from '../../cds-hooks/cds-services.registry';
import { SUPPORTED_HOOKS, type CdsHookName } from '../../cds-hooks/cds-hooks.types';
import { buildDemoRequest } from '../../cds-hooks/demo/demo-request.builder';
import { CliError } from '../../common/cli-error';
import { cliConfig } from '../../config/cli-config';
import { openFhirSource } from '../../fhir/fhir-source';
import type { PatientResources } from '../../fhir/fhir-source.types';

export interface DemoRequestCommandOptions {
  patient: string;
  fhir: string;
  hook: string;
  url: string;
}

export async function runDemoRequestCommand(opts: DemoRequestCommandOptions, out: (text: string) => void, err: (text: string) => void): Promise<void> {
  if (!(SUPPORTED_HOOKS as readonly string[]).includes(opts.hook)) throw new CliError(`--hook ${opts.hook}: must be one of ${SUPPORTED_HOOKS.join(', ')}`);
  const source = await openFhirSource(opts.fhir);
  let found: PatientResources | undefined;
  const someIds: string[] = [];
  for await (const p of source.patients()) {
    // Patient.id, or a business identifier such as the MIMIC subject_id.
    if (p.patient.id === opts.patient || (p.patient.identifier ?? []).some((i) => i.value === opts.patient)) {
      found = p;
      break;
    }
    if (someIds.length < 3) someIds.push(p.patient.identifier?.[0]?.value ?? p.patient.id ?? '');
  }
  if (!found) {
    const hint = someIds.length > 0 ? ` (for example: ${someIds.join(', ')})` : '';
    throw new CliError(`--patient ${opts.patient}: no Patient with that id or identifier in ${opts.fhir}${hint}`);
  }
  const request = buildDemoRequest(found, { hook: opts.hook as CdsHookName });
  out(`${JSON.stringify(request)}\n`);
  let serviceId = `<service id for ${opts.hook}>`;
  try {
    serviceId = CdsServicesRegistry.load(cliConfig().cdsHooksFile).services.find((s) => s.hook === opts.hook)?.id ?? serviceId;
  } catch {
    // cds-hooks.json is only needed for the hint below.
  }
  err(`CDS Hooks ${opts.hook} request for patient ${opts.patient} written to stdout (Patient/${found.patient.id}). Send it with:\n  | curl -s -X POST ${opts.url.replace(/\/+$/, '')}/cds-services/${serviceId} -H 'Content-Type: application/json' -d @-\n`);
}

export function register(program: Command): void {
  program
    .command('demo-request')
    .description('Print a CDS Hooks request (full prefetch, a draft order from the last visit) for one patient of converted FHIR data')
    .requiredOption('--patient <id>', 'Patient.id or identifier (e.g. the MIMIC subject_id) in the FHIR data')
    .requiredOption('--fhir <dir>', 'FHIR data: a converted MIMIC-IV demo folder (NDJSON), a Bundle folder or a FHIR server URL')
    .option('--hook <hook>', `hook to call (${SUPPORTED_HOOKS.join(', ')})`, 'order-select')
    .option('--url <url>', 'base URL of the running service (for the curl hint on stderr)', 'http://localhost:3000')
    .action(async (opts: DemoRequestCommandOptions) => {
      await runDemoRequestCommand(opts, (t) => process.stdout.write(t), (t) => process.stderr.write(t));
    });
}

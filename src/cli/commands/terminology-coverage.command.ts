import type { Command } from 'commander';
import type { Resource } from 'fhir/r4';
import { CliError } from '../../common/cli-error';
import { openFhirSource } from '../../fhir/fhir-source';
import { computeCoverage, formatCoverage } from '../../terminology/coverage';
import { Terminology } from '../../terminology/terminology';
import { ProgressReporter } from '../progress';
import { cliConfig } from '../../config/cli-config';
import { parseIntegerOption } from '../integer-option';

/** Resource types the report covers; the source is asked for these only. */
const COVERED_TYPES = ['Condition', 'Procedure', 'Medication', 'MedicationRequest', 'MedicationAdministration', 'MedicationStatement', 'MedicationDispense'];

/** `leader terminology-coverage`: how much of a FHIR source's coding the terminology maps. */
export function register(program: Command): void {
  program
    .command('terminology-coverage')
    .description('Per resource type and code system: share of codings mapped (rows and distinct codes) and the most frequent unmapped codes')
    .requiredOption('--fhir <src>', 'FHIR source: NDJSON folder, folder of Bundles (.json/.json.gz) or FHIR server base URL')
    .option('--mappings <dir>', 'fhir-mappings folder (LEADER_FHIR_MAPPINGS)', cliConfig().fhirMappingsDir)
    .option('--top <n>', 'unmapped codes listed per system', '10')
    .option('--json', 'print the report as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { fhir: string; mappings: string; top: string; json?: boolean; quiet?: boolean }) => {
      const top = parseIntegerOption('--top', opts.top, 0);
      const progress = new ProgressReporter(process.stderr, opts.quiet === true);
      let terminology: Terminology;
      try {
        terminology = await Terminology.load(opts.mappings);
      } catch (e) {
        throw new CliError(`--mappings ${opts.mappings}: ${(e as Error).message}`);
      }
      const source = await openFhirSource(opts.fhir);
      const bar = progress.bar('read resources', 0, 'resources');
      let seen = 0;
      async function* counted(): AsyncIterable<Resource> {
        for await (const r of source.resources(COVERED_TYPES)) {
          seen++;
          if (seen % 1000 === 0) bar.update(seen);
          yield r;
        }
      }
      const report = await computeCoverage(counted(), terminology, top);
      bar.update(seen);
      bar.stop();
      if (opts.json) process.stdout.write(`${JSON.stringify({ source: opts.fhir, ...report }, null, 2)}\n`);
      else process.stdout.write(`${[`terminology coverage of ${opts.fhir} (${seen} resources)`, ...formatCoverage(report)].join('\n')}\n`);
    });
}

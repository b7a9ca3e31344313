import type { Command } from 'commander';
import type { Resource } from 'fhir/r4';
import { CliError } from '../../common/cli-error';
import { openFhirSource } from '../../fhir/fhir-source';
import { readFileSync } from 'node:fs';
import { computeCoverage, formatCoverage, parseProductList, percent, productListCoverage } from '../../terminology/coverage';
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
    .option('--fhir <src>', 'FHIR source: NDJSON folder, folder of Bundles (.json/.json.gz) or FHIR server base URL')
    .option('--products <file>', 'product list: one drug name a line, optionally <TAB> expected ATC3 (e.g. test/fixtures/terminology/common-products.tsv)')
    .option('--mappings <dir>', 'fhir-mappings folder (LEADER_FHIR_MAPPINGS)', cliConfig().fhirMappingsDir)
    .option('--top <n>', 'unmapped codes listed per system', '10')
    .option('--json', 'print the report as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { fhir?: string; products?: string; mappings: string; top: string; json?: boolean; quiet?: boolean }) => {
      const top = parseIntegerOption('--top', opts.top, 0);
      if (!opts.fhir && !opts.products) throw new CliError('terminology-coverage: give --fhir <src> and/or --products <file>');
      const progress = new ProgressReporter(process.stderr, opts.quiet === true);
      let terminology: Terminology;
      try {
        terminology = await Terminology.load(opts.mappings);
      } catch (e) {
        throw new CliError(`--mappings ${opts.mappings}: ${(e as Error).message}`);
      }
      let products;
      if (opts.products) {
        let text: string;
        try {
          text = readFileSync(opts.products, 'utf8');
        } catch (e) {
          throw new CliError(`--products ${opts.products}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
        }
        try {
          products = productListCoverage(parseProductList(text, opts.products), terminology);
        } catch (e) {
          throw new CliError(`--products ${(e as Error).message}`);
        }
        if (!opts.fhir) {
          if (opts.json) process.stdout.write(`${JSON.stringify({ file: opts.products, ...products }, null, 2)}\n`);
          else process.stdout.write(`${formatProducts(opts.products, products, top).join('\n')}\n`);
          return;
        }
      }
      const source = await openFhirSource(opts.fhir as string);
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
      if (opts.json) process.stdout.write(`${JSON.stringify({ source: opts.fhir, ...report, ...(products ? { productList: { file: opts.products, ...products } } : {}) }, null, 2)}\n`);
      else process.stdout.write(`${[`terminology coverage of ${opts.fhir} (${seen} resources)`, ...formatCoverage(report, top), ...(products ? formatProducts(opts.products as string, products, top) : [])].join('\n')}\n`);
    });
}

function formatProducts(file: string, p: ReturnType<typeof productListCoverage>, top: number): string[] {
  return [
    `product list ${file}: ${p.assessed}/${p.products} classed (${percent(p.assessed, p.products)}), ${p.asExpected}/${p.withExpected} as expected (${percent(p.asExpected, p.withExpected)})`,
    ...p.misses.slice(0, top).map((m) => `  ${m.name}: got ${m.got.join(',') || 'nothing'} (${m.rule})${m.expected ? `, expected ${m.expected.join(',')}` : ''}`),
  ];
}

import type { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { convertMimic } from '../../mimic/mimic-to-fhir.converter';
import { ProgressReporter } from '../progress';

/** `leader mimic-to-fhir --source DIR --out DIR`: MIMIC-III / MIMIC-IV CSVs → FHIR R4 NDJSON per resource type. */
export function register(program: Command): void {
  program
    .command('mimic-to-fhir')
    .description('Convert a MIMIC-III or MIMIC-IV folder (hosp/*.csv[.gz] or ADMISSIONS.csv …) into FHIR R4 NDJSON, one file per resource type')
    .requiredOption('--source <dir>', 'MIMIC folder (MIMIC-IV: contains hosp/; MIMIC-III: contains ADMISSIONS.csv)')
    .requiredOption('--out <dir>', 'output folder; written under a temporary name and renamed when complete')
    .option('--quiet', 'no progress bars or summary')
    .action(async (opts: { source: string; out: string; quiet?: boolean }) => {
      if (!opts.source.trim()) throw new CliError('--source: empty path');
      if (!opts.out.trim()) throw new CliError('--out: empty path');
      const progress = new ProgressReporter(process.stderr, opts.quiet === true);
      const started = Date.now();
      const result = await convertMimic(opts.source, opts.out, { progress });
      const seconds = (Date.now() - started) / 1000;
      let rows = 0;
      let titleRows = 0;
      for (const [table, n] of Object.entries(result.rows)) {
        if (table.startsWith('d_')) titleRows += n;
        else rows += n;
      }
      progress.info(`mimic-to-fhir: ${result.dataset}${result.version ? ` v${result.version}` : ''}, ${rows} source rows (+${titleRows} ICD title rows) in ${seconds.toFixed(1)} s`);
      progress.info(`  resources: ${Object.entries(result.resources).map(([t, n]) => `${t} ${n}`).join(', ')}`);
      const dropped = result.dropped.reduce((a, r) => a + r.count, 0);
      progress.info(dropped === 0 ? '  dropped rows: none'
        : `  dropped rows: ${dropped} (${result.dropped.map((r) => `${r.table}: ${r.reason} ×${r.count}`).join('; ')})`);
      if (result.warnings.length > 0) {
        progress.info(`  warnings: ${result.warnings.map((r) => `${r.table}: ${r.reason} ×${r.count}`).join('; ')}`);
      }
      progress.info(`  wrote ${result.files.join(', ')} to ${result.outDir}`);
    });
}

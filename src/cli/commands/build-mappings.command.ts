import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { writeDirAtomic } from '../../common/atomic-write';
import { MappingsBuilder } from '../../terminology/build/mappings.builder';
import { ProgressReporter } from '../progress';
import { cliConfig } from '../../config/cli-config';

/** `leader build-mappings`: shared code maps → fhir-mappings/ (FHIR ConceptMap JSON), reproducibly. */
export function register(program: Command): void {
  program
    .command('build-mappings')
    .description('Build fhir-mappings/ (ConceptMaps NDC/RxNorm/GSN/drug name -> ATC3, ICD GEMs, SNOMED -> ICD-10-CM, ATC names, ICD titles, DDI pairs) from the shared data')
    .option('--shared <dir>', 'shared data folder (LEADER_SHARED_DATA)', cliConfig().sharedDataDir)
    .option('--out <dir>', 'output folder, replaced as a whole', 'fhir-mappings')
    .option('--quiet', 'no progress output')
    .action(async (opts: { shared: string; out: string; quiet?: boolean }) => {
      const progress = new ProgressReporter(process.stderr, opts.quiet === true);
      if (!existsSync(opts.shared)) throw new CliError(`--shared ${opts.shared}: folder not found`);
      const started = Date.now();
      let built;
      try {
        built = new MappingsBuilder(opts.shared).build();
      } catch (e) {
        throw new CliError(`build-mappings: ${(e as Error).message}`);
      }
      const { files, summary } = built;
      const bar = progress.bar('write fhir-mappings', files.size, 'files');
      await writeDirAtomic(opts.out, async (tmp) => {
        for (const [name, content] of files) {
          await fs.writeFile(path.join(tmp, name), content);
          bar.increment();
        }
      });
      bar.stop();
      for (const [file, n] of Object.entries(summary.counts)) progress.info(`  ${file}: ${n} entries`);
      progress.info(`wrote ${summary.files} files (${(summary.bytes / 1e6).toFixed(2)} MB) to ${path.resolve(opts.out)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}

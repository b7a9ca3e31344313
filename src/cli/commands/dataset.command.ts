import type { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { openFhirSource } from '../../fhir/fhir-source';
import { Terminology } from '../../terminology/terminology';
import { buildTimeline } from '../../timeline/timeline';
import { DEFAULT_DATASET_OPTIONS, DEFAULT_DDI_SOURCE, type DatasetBuildOptions } from '../../training/dataset.builder';
import { describeCounts, writeDataset } from '../../training/dataset.writer';
import { SPLIT_STRATEGIES, type SplitStrategy } from '../../training/splits';
import { ProgressReporter } from '../progress';
import { cliConfig } from '../../config/cli-config';
import { parseIntegerOption, SEED_RANGE } from '../integer-option';

interface DatasetCommandOptions {
  fhir: string;
  out: string;
  perVisit?: boolean;
  seed: string;
  topMeds?: string;
  promptMode: string;
  maxVisits: string;
  minVisits: string;
  split: string;
  ddi?: string;
  tokenEnv?: string;
  quiet?: boolean;
}

/** `leader dataset --fhir SRC --out DIR`: LEADER samples (prompts + student inputs), vocabularies, DDI and splits. */
export function register(program: Command): void {
  program
    .command('dataset')
    .description("Build a LEADER dataset (one sample per patient, target = last visit; 8:1:1 patient split) from FHIR: samples.jsonl, vocab.json, ddi.json, splits/ (docs/dataset-schema.md)")
    .requiredOption('--fhir <src>', 'FHIR NDJSON folder, folder of Bundles (.json/.json.gz) or FHIR R4 base URL')
    .requiredOption('--out <dir>', 'output folder; written under a temporary name and renamed when complete')
    .option('--per-visit', 'one sample per eligible visit (SafeDrug style) instead of one per patient')
    .option('--seed <n>', 'seed of the patient shuffle', String(DEFAULT_DATASET_OPTIONS.seed))
    .option('--split <strategy>', "'shuffle' (seeded) or 'sequential' (LEADER's unshuffled cut by patient id)", DEFAULT_DATASET_OPTIONS.split)
    .option('--top-meds <n>', 'keep the N most frequent ATC3 classes of the train split as the label space (default: all)')
    .option('--prompt-mode <mode>', "'fixed' or 'faithful' (reproduces the paper's <DIGNOSIS> bug and \"he\")", DEFAULT_DATASET_OPTIONS.promptMode)
    .option('--max-visits <n>', 'visits the student sees, the target visit last', String(DEFAULT_DATASET_OPTIONS.maxVisits))
    .option('--min-visits <n>', 'minimum visits (target included) for a sample', String(DEFAULT_DATASET_OPTIONS.minVisits))
    .option('--ddi <csv>', 'atc3_a,atc3_b CSV of interacting classes (default: the pairs in fhir-mappings/, from medrec-maps-gamenet/ddi_atc3_pairs.csv)')
    .option('--token-env <name>', 'with a FHIR server URL: the environment variable holding its bearer token (kept off the command line)')
    .option('--quiet', 'no progress bars or summary')
    .action(async (opts: DatasetCommandOptions) => {
      const options = parseOptions(opts);
      const bearerToken = opts.tokenEnv === undefined ? undefined : cliConfig().secret(opts.tokenEnv);
      if (opts.tokenEnv !== undefined && !bearerToken) throw new CliError(`--token-env ${opts.tokenEnv}: that environment variable is not set`);
      const progress = new ProgressReporter(process.stderr, opts.quiet === true);
      const started = Date.now();
      const terminology = await Terminology.load(cliConfig().fhirMappingsDir, opts.ddi);
      const { out, manifest } = await writeDataset(opts.fhir, opts.out, options, {
        openSource: (location) => openFhirSource(location, bearerToken ? { bearerToken } : undefined),
        terminology,
        buildTimeline: (resources, lookup) => buildTimeline(resources, lookup),
        progress,
        ddiSource: opts.ddi ? `${opts.ddi} (atc3_a,atc3_b)` : DEFAULT_DDI_SOURCE,
      });
      const c = manifest.counts;
      progress.info(`dataset: ${c.samples} samples of ${c.patients} patients (train ${c.train}, val ${c.val}, test ${c.test}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      progress.info(`  labels (ATC3): ${c.labels}, tokens: ${c.tokens}, vocabHash ${manifest.vocabHash.slice(0, 16)}…`);
      progress.info(`  skipped: ${describeCounts(c.skipped)}`);
      progress.info(`  dropped: ${describeCounts(c.dropped ?? {})}`);
      progress.info(`  wrote manifest.json, vocab.json, ddi.json, samples.jsonl, splits/{train,val,test}.txt to ${out}`);
    });
}

function parseOptions(opts: DatasetCommandOptions): DatasetBuildOptions {
  if (!opts.fhir.trim()) throw new CliError('--fhir: empty location');
  if (!opts.out.trim()) throw new CliError('--out: empty path');
  const promptMode = opts.promptMode;
  if (promptMode !== 'fixed' && promptMode !== 'faithful') throw new CliError(`--prompt-mode: expected fixed or faithful, got '${promptMode}'`);
  if (!SPLIT_STRATEGIES.includes(opts.split as SplitStrategy)) throw new CliError(`--split: expected ${SPLIT_STRATEGIES.join(' or ')}, got '${opts.split}'`);
  return {
    perVisit: opts.perVisit === true,
    seed: parseIntegerOption('--seed', opts.seed, SEED_RANGE.min, SEED_RANGE.max),
    topMeds: opts.topMeds === undefined ? null : parseIntegerOption('--top-meds', opts.topMeds),
    promptMode,
    maxVisits: parseIntegerOption('--max-visits', opts.maxVisits),
    minVisits: parseIntegerOption('--min-visits', opts.minVisits),
    split: opts.split as SplitStrategy,
  };
}

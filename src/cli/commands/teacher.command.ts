/**
 * `leader teacher`: LEADER teacher features (last-token hidden state of each sample's prompt) for a
 * dataset, into a resumable float32 cache (teacher/feature-cache.ts) that `leader train
 * --teacher-features`, the teacher head and `leader evaluate` read.
 */
import { Command, Option } from 'commander';
import { CliError } from '../../common/cli-error';
import { ProgressReporter } from '../progress';
import { cliConfig } from '../../config/cli-config';
import { integerOption } from '../integer-option';
import type { DatasetManifest, SplitName } from '../../training/dataset.schema';
import { readDataset } from '../../training/dataset.reader';
import { computeTeacherFeatures, type TeacherPrompt } from '../../teacher/teacher-features.runner';
import { indexPathFor } from '../../teacher/feature-cache';
import type { TeacherBackend } from '../../teacher/teacher-backend';

const SPLITS: SplitName[] = ['train', 'val', 'test'];

export interface TeacherDataset {
  manifest: DatasetManifest;
  prompts: TeacherPrompt[];
}

/** The prompts of a LEADER dataset folder (read and checked by readDataset), in samples.jsonl order, restricted to `splits`. */
export async function readTeacherPrompts(dir: string, splits: SplitName[] = SPLITS): Promise<TeacherDataset> {
  const { manifest, samples } = await readDataset(dir);
  const wanted = new Set(splits);
  return { manifest, prompts: samples.filter((s) => wanted.has(s.split)).map((s) => ({ id: s.id, prompt: s.prompt })) };
}

export interface TeacherCommandOptions {
  dataset: string;
  out: string;
  backend: 'llama-cpp' | 'openai';
  model?: string;
  url?: string;
  apiKeyEnv: string;
  threads: number;
  batchSize: number;
  concurrency: number;
  inputsPerRequest: number;
  maxRetries: number;
  maxTokens: number;
  extraBody?: Record<string, unknown>;
  splits: string;
  quiet?: boolean;
  /** Test hook, hidden from --help: stop with exit code 3 after this many batches, as an interrupted run would. */
  stopAfterBatches?: number;
}

export async function runTeacherCommand(opts: TeacherCommandOptions): Promise<void> {
  const progress = new ProgressReporter(process.stderr, opts.quiet);
  const splits = opts.splits.split(',').map((s) => s.trim()).filter(Boolean) as SplitName[];
  const bad = splits.find((s) => !SPLITS.includes(s));
  if (bad || splits.length === 0) throw new CliError(`--splits: "${bad ?? opts.splits}" is not one of train,val,test`);
  const { manifest, prompts } = await readTeacherPrompts(opts.dataset, splits);
  if (prompts.length === 0) throw new CliError(`${opts.dataset}: no samples in splits ${splits.join(',')}`);

  let backend: TeacherBackend;
  if (opts.backend === 'llama-cpp') {
    if (!opts.model) throw new CliError('--model PATH.gguf is required with --backend llama-cpp');
    // The only path that loads node-llama-cpp; required here, never at module load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LlamaCppBackend } = require('../../teacher/llama-cpp.backend') as typeof import('../../teacher/llama-cpp.backend');
    backend = await LlamaCppBackend.open({ modelPath: opts.model, threads: opts.threads, maxTokens: opts.maxTokens });
  } else {
    if (!opts.url) throw new CliError('--url is required with --backend openai (e.g. http://127.0.0.1:8000)');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OpenAiBackend } = require('../../teacher/openai.backend') as typeof import('../../teacher/openai.backend');
    backend = new OpenAiBackend({
      url: opts.url, model: opts.model ?? '', apiKey: cliConfig().secret(opts.apiKeyEnv), concurrency: opts.concurrency,
      inputsPerRequest: opts.inputsPerRequest, maxRetries: opts.maxRetries,
      extraBody: opts.extraBody,
      onRetry: ({ attempt, status, delayMs }) => progress.info(`teacher: ${status}, retry ${attempt} in ${Math.round(delayMs)} ms`),
      onWarning: (message) => progress.info(`teacher: warning: ${message}`),
    });
  }
  try {
    progress.info(`teacher: ${prompts.length} samples (${splits.join(',')}) from ${opts.dataset}, backend ${backend.name}, model ${backend.model}${opts.backend === 'llama-cpp' ? `, ${opts.threads} thread(s)` : ''}`);
    const result = await computeTeacherFeatures(backend, prompts, {
      out: opts.out, batchSize: opts.batchSize, promptMode: manifest.options.promptMode, datasetVocabHash: manifest.vocabHash,
      progress, stopAfterBatches: opts.stopAfterBatches,
    });
    const truncated = (backend as { truncated?: number }).truncated;
    if (truncated) progress.info(`teacher: ${truncated} prompt(s) longer than ${opts.maxTokens} tokens kept their head (LEADER's truncation)`);
    const rate = result.computed / Math.max(result.seconds, 1e-3);
    progress.info(`teacher: ${result.computed} computed${result.resumedFrom ? `, ${result.resumedFrom} resumed` : ''} in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} samples/s)`);
    progress.info(`wrote ${opts.out} (float32 [${result.rows}, ${result.dim}]) and ${indexPathFor(opts.out)}`);
  } finally {
    await backend.close();
  }
}

export function register(program: Command): void {
  program
    .command('teacher')
    .description("Compute LEADER teacher features (the LLM's last-token hidden state per sample prompt) into a resumable float32 cache")
    .requiredOption('--dataset <dir>', '`leader dataset` output folder')
    .requiredOption('--out <file>', 'feature matrix file; FILE.index.json is written beside it')
    .addOption(new Option('--backend <name>', 'llama-cpp (local GGUF) or openai (/v1/embeddings server)').choices(['llama-cpp', 'openai']).makeOptionMandatory())
    .option('--model <path|name>', 'GGUF path (llama-cpp) or served model name (openai)')
    .option('--url <url>', 'base URL of an OpenAI-compatible server (openai)')
    .option('--api-key-env <name>', 'environment variable holding the API key (openai)', 'OPENAI_API_KEY')
    .option('--threads <n>', 'CPU threads for llama.cpp (passed explicitly: the library default oversubscribes small machines; use your free physical cores for a real model)', integerOption('--threads'), 1)
    .option('--batch-size <n>', 'samples per batch; the cache is committed after each batch', integerOption('--batch-size'), 16)
    .option('--concurrency <n>', 'requests in flight (openai)', integerOption('--concurrency'), 4)
    .option('--inputs-per-request <n>', 'prompts per embeddings request (openai)', integerOption('--inputs-per-request'), 16)
    .option('--max-retries <n>', 'retries per request on 429/5xx/network errors (openai)', integerOption('--max-retries', 0), 5)
    .option('--max-tokens <n>', 'longest prompt in tokens incl. EOS; longer prompts keep their head (llama-cpp)', integerOption('--max-tokens'), 2048)
    .option('--extra-body <json>', 'extra JSON fields for each embeddings request (openai), e.g. \'{"embd_normalize":-1}\'', (v: string) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        throw new CliError(`--extra-body must be a JSON object (got ${v})`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`--extra-body must be a JSON object (got ${v})`);
      return parsed as Record<string, unknown>;
    })
    .option('--splits <list>', 'comma-separated splits to compute', 'train,val,test')
    .option('--quiet', 'no progress output')
    .addOption(new Option('--stop-after-batches <n>').argParser(integerOption('--stop-after-batches')).hideHelp())
    .action(async (opts: TeacherCommandOptions) => runTeacherCommand(opts));
}

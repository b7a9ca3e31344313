/**
 * Computes the teacher feature cache for a list of prompts with one backend, batch by batch, and
 * resumes an interrupted run (feature-cache.ts). Pure orchestration: the CLI supplies prompts.
 */
import { CliError } from '../common/cli-error';
import { FeatureCacheWriter } from './feature-cache';
import type { TeacherBackend } from './teacher-backend';

export interface TeacherPrompt {
  id: string;
  prompt: string;
}

/** The slice of cli/progress.ts ProgressReporter this module uses (teacher sits above cli in the layering). */
export interface TeacherProgress {
  info(line: string): void;
  bar(label: string, total: number, unit?: string): { increment(by?: number): void; stop(): void };
}

export interface TeacherRunOptions {
  out: string;
  batchSize: number;
  promptMode: string;
  datasetVocabHash: string;
  progress?: TeacherProgress;
  /**
   * Test hook (--stop-after-batches): stop with an error after this many batches of this run,
   * as an interrupted run would, so resumption can be tested deterministically.
   */
  stopAfterBatches?: number;
}

export interface TeacherRunResult {
  rows: number;
  dim: number;
  computed: number;
  resumedFrom: number;
  seconds: number;
}

export async function computeTeacherFeatures(backend: TeacherBackend, prompts: TeacherPrompt[], options: TeacherRunOptions): Promise<TeacherRunResult> {
  const started = Date.now();
  const modelSha256 = await backend.modelHash();
  const writer = await FeatureCacheWriter.open(options.out, {
    backend: backend.name, model: backend.model, modelSha256, pooling: backend.pooling,
    promptMode: options.promptMode, datasetVocabHash: options.datasetVocabHash,
  }, prompts.map((p) => p.id));
  const resumedFrom = writer.rows;
  try {
    if (resumedFrom > 0) options.progress?.info(`resuming ${options.out}: ${resumedFrom}/${prompts.length} samples already computed`);
    const bar = options.progress?.bar('teacher features', prompts.length - resumedFrom, 'samples');
    let batches = 0;
    for (let start = resumedFrom; start < prompts.length || !writer.complete; start += options.batchSize) {
      const batch = prompts.slice(start, start + options.batchSize);
      const vectors = batch.length ? await backend.embed(batch.map((p) => p.prompt)) : [];
      if (vectors.length !== batch.length) throw new CliError(`backend ${backend.name} returned ${vectors.length} vectors for ${batch.length} prompts`);
      await writer.append(batch.map((p) => p.id), vectors, start + batch.length >= prompts.length);
      bar?.increment(batch.length);
      batches++;
      if (options.stopAfterBatches !== undefined && batches >= options.stopAfterBatches && !writer.complete) {
        bar?.stop();
        throw new CliError(`stopped after ${batches} batch(es) (--stop-after-batches); ${writer.rows}/${prompts.length} rows kept in ${options.out}, rerun to resume`, 3);
      }
    }
    bar?.stop();
    return { rows: writer.rows, dim: writer.dim, computed: writer.rows - resumedFrom, resumedFrom, seconds: (Date.now() - started) / 1000 };
  } finally {
    await writer.close();
  }
}

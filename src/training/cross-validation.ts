/**
 * K-fold cross-validation by patient (`leader cv`, `leader evaluate --folds K`): every patient is a test
 * patient exactly once; in each fold the student (Python trainer → ONNX → onnxruntime-node, the served
 * path) and every baseline learn from the same train patients, pick thresholds on the same validation
 * patients and are scored on the same test patients' last visits. The report gives per-fold figures,
 * mean ± std over folds, the pooled figures over all test patients and a paired bootstrap interval of
 * (student − best baseline) for PRAUC and Jaccard.
 *
 * Each fold lives in OUT/fold-<k>/ (dataset/, model/, result.json). A finished fold is reused when its
 * result.json carries the same run signature, so an interrupted run continues where it stopped (an
 * interrupted training resumes from its checkpoint); a different signature is refused, never mixed in.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { cliConfig } from '../config/cli-config';
import { writeDirAtomic, writeFileAtomic } from '../common/atomic-write';
import { mulberry32 } from '../common/random';
import { StudentModel } from '../inference/student-model';
import { runBaselines, type BaselineContext } from './baselines';
import { countsOf } from './dataset.builder';
import type { DatasetDdi, DatasetManifest, DatasetSample, SplitName } from './dataset.schema';
import { readDataset, type LoadedDataset } from './dataset.reader';
import { assertSameVocabulary, scoreWithStudent } from './evaluate';
import {
  aggregate, DdiPairs, METRIC_KEYS, perSampleScores, thresholdPredictions, type ModelMetrics, type PerSampleScores, type ScoredSamples,
} from './metrics';
import { comparePatientIds, lastVisitSamples } from './splits';
import { runTrainer, type TrainerEvent } from './train.launcher';
import { sha256Hex } from '../common/sha256';

export const STUDENT = 'student';
const RESULT_VERSION = 1;

export interface CrossValidationOptions {
  dataset: string;
  out: string;
  folds: number;
  seed: number;
  /** Trainer flags for the student (e.g. ['--wide', '--bias-init']); part of the run signature. */
  trainerArgs: string[];
  epochs?: number;
  /** Share of each fold's train patients used for training (learning curve); 1 = all. */
  trainFraction?: number;
  /** Bootstrap resamples of the paired difference. */
  bootstrap?: number;
  progress?: CrossValidationProgress;
}

export interface CrossValidationProgress {
  info(line: string): void;
  fold(fold: number, folds: number, phase: 'reused' | 'dataset' | 'train' | 'score', detail?: string): void;
  trainerEvent?(fold: number, e: TrainerEvent): void;
}

/** Fold k's patients: test = fold k; validation = ~1/8 of the rest; train = the remainder (all of their visits). */
export interface FoldAssignment {
  fold: number;
  train: string[];
  val: string[];
  test: string[];
}

/** Patients dealt into K folds after a seeded shuffle of the sorted ids; validation drawn from the non-test rest. */
export function assignFolds(patientIds: readonly string[], folds: number, seed: number, trainFraction = 1): FoldAssignment[] {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`--folds must be an integer ≥ 2, got ${folds}`);
  if (!(trainFraction > 0 && trainFraction <= 1)) throw new RangeError(`train fraction must be in (0, 1], got ${trainFraction}`);
  const ids = [...new Set(patientIds)].sort(comparePatientIds);
  if (ids.length < folds * 2) throw new RangeError(`${ids.length} patients are too few for ${folds} folds`);
  shuffle(ids, mulberry32(seed));
  const out: FoldAssignment[] = [];
  for (let k = 0; k < folds; k++) {
    const test = ids.filter((_, i) => i % folds === k);
    const rest = ids.filter((_, i) => i % folds !== k);
    shuffle(rest, mulberry32(seed + 7919 * (k + 1)));
    const nVal = Math.max(1, Math.round(rest.length / 8));
    const train = rest.slice(nVal);
    // Nested subsets: the 25 % train patients are among the 50 % ones, and so on.
    out.push({ fold: k, val: sorted(rest.slice(0, nVal)), train: sorted(train.slice(0, Math.max(1, Math.ceil(trainFraction * train.length)))), test: sorted(test) });
  }
  return out;
}

function shuffle<T>(a: T[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

const sorted = (ids: string[]) => [...ids].sort(comparePatientIds);

/** The fold's samples with their new split: every visit of a train patient, the last visit of val and test patients. */
export function foldSamples(samples: readonly DatasetSample[], a: FoldAssignment): DatasetSample[] {
  const role = new Map<string, SplitName>();
  for (const name of ['train', 'val', 'test'] as const) for (const id of a[name]) role.set(id, name);
  const lastOfPatient = new Set(lastVisitSamples(samples));
  const out: DatasetSample[] = [];
  for (const s of samples) {
    const split = role.get(s.patientId);
    if (!split || (split !== 'train' && !lastOfPatient.has(s))) continue;
    out.push({ ...s, split });
  }
  return out;
}

/** Write a fold's dataset folder: the source's vocab.json and ddi.json byte for byte, samples with the fold's splits. */
async function writeFoldDataset(source: LoadedDataset, dir: string, samples: DatasetSample[]): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    await fs.mkdir(path.join(tmp, 'splits'), { recursive: true });
    await fs.copyFile(path.join(source.dir, 'vocab.json'), path.join(tmp, 'vocab.json'));
    await fs.copyFile(path.join(source.dir, 'ddi.json'), path.join(tmp, 'ddi.json'));
    await fs.writeFile(path.join(tmp, 'samples.jsonl'), samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const splits = { train: [] as string[], val: [] as string[], test: [] as string[] };
    for (const s of samples) splits[s.split].push(s.id);
    for (const [name, ids] of Object.entries(splits)) await fs.writeFile(path.join(tmp, 'splits', `${name}.txt`), ids.length ? `${ids.join('\n')}\n` : '');
    const manifest: DatasetManifest = {
      ...source.manifest,
      createdAt: new Date().toISOString(),
      counts: { ...source.manifest.counts, ...countsOf(samples, splits, source.vocab.toJSON()) },
    };
    await fs.writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });
}

/** One model's scores on a fold's test patients (probabilities row-major, predicted label sets). */
export interface FoldModelScores {
  probs: number[];
  predicted: number[][];
  rule: string;
}

export interface FoldResult {
  version: typeof RESULT_VERSION;
  signature: string;
  fold: number;
  patients: { train: number; val: number; test: number };
  samples: { train: number; val: number; test: number };
  labelCount: number;
  test: { ids: string[]; targets: number[][]; visitCount: number[] };
  models: Record<string, FoldModelScores>;
  /** The student on the fold's validation patients: what `leader tune` ranks by (never the test patients). */
  validation: { student: ModelMetrics };
  trainer: {
    bestEpoch: number; epochsRun: number; seconds: number; threshold: number; temperature: number;
    calibration: Record<string, unknown> | null; history: { epoch: number; trainLoss: number; valPrauc: number | null }[];
  };
}

export interface Interval {
  /** Pooled mean of the per-patient difference (student − baseline). */
  mean: number;
  low: number;
  high: number;
}

export interface CrossValidationResult {
  /** `description` is the source's (e.g. "MIMIC-IV Clinical Database Demo v2.2 …"), else the dataset folder name. */
  dataset: { dir: string; description: string; vocabHash: string; patients: number; perVisit: boolean };
  folds: number;
  seed: number;
  trainFraction: number;
  trainerArgs: string[];
  models: string[];
  perFold: { fold: number; patients: FoldResult['patients']; metrics: Record<string, ModelMetrics>; validation: ModelMetrics; temperature: number; threshold: number; bestEpoch: number }[];
  /** Mean and sample std (n − 1) of the per-fold figures. */
  mean: Record<string, ModelMetrics>;
  std: Record<string, ModelMetrics>;
  /** Over all test patients (each once). */
  pooled: Record<string, ModelMetrics>;
  /** Student on the validation patients, mean over folds (model selection uses only this). */
  validation: ModelMetrics;
  /** Paired bootstrap (patients resampled) of student − best baseline; best = highest pooled value of that metric. */
  difference: Record<'prauc' | 'jaccard', Interval & { baseline: string; resamples: number; verdict: string }>;
  calibration: { ece: number; bins: ReliabilityBin[] };
  seconds: number;
  out: string;
}

export interface ReliabilityBin {
  low: number;
  high: number;
  count: number;
  meanProbability: number;
  positiveRate: number;
}

/** Reliability bins and expected calibration error over every (patient, label) pair (equal-width bins (a, b]). */
export function reliability(probs: ArrayLike<number>, targets: readonly number[][], labelCount: number, bins = 10): { ece: number; bins: ReliabilityBin[] } {
  const count = new Float64Array(bins), sumP = new Float64Array(bins), pos = new Float64Array(bins);
  targets.forEach((t, i) => {
    const positive = new Set(t);
    for (let m = 0; m < labelCount; m++) {
      const p = probs[i * labelCount + m];
      const b = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
      count[b]++;
      sumP[b] += p;
      if (positive.has(m)) pos[b]++;
    }
  });
  const total = targets.length * labelCount;
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const meanP = count[b] ? sumP[b] / count[b] : 0;
    const rate = count[b] ? pos[b] / count[b] : 0;
    if (count[b]) ece += (count[b] / total) * Math.abs(meanP - rate);
    out.push({ low: b / bins, high: (b + 1) / bins, count: count[b], meanProbability: meanP, positiveRate: rate });
  }
  return { ece, bins: out };
}

/** Percentile interval of the mean of `diffs` over `resamples` bootstrap resamples (with replacement). */
export function pairedBootstrap(diffs: ArrayLike<number>, resamples: number, seed: number): Interval {
  const n = diffs.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += diffs[i];
  const rand = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(rand() * n)];
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { mean: n ? total / n : 0, low: at(0.025), high: at(0.975) };
}

function signatureOf(o: CrossValidationOptions, ds: LoadedDataset): string {
  return sha256Hex(JSON.stringify({
    v: RESULT_VERSION, vocab: ds.manifest.vocabHash, samples: ds.samples.length, folds: o.folds, seed: o.seed,
    trainerArgs: o.trainerArgs, epochs: o.epochs ?? null, trainFraction: o.trainFraction ?? 1,
  }));
}

async function readJsonIfPresent<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: unreadable (${(e as Error).message.split('\n')[0]}); delete it to rerun that fold`);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function runFold(o: CrossValidationOptions, ds: LoadedDataset, a: FoldAssignment, signature: string): Promise<FoldResult> {
  const dir = path.join(o.out, `fold-${a.fold}`);
  const resultFile = path.join(dir, 'result.json');
  const previous = await readJsonIfPresent<FoldResult>(resultFile);
  if (previous) {
    if (previous.signature !== signature) {
      throw new Error(`${resultFile} belongs to another run (dataset, folds, seed or trainer flags differ); use another --out or delete ${o.out}`);
    }
    o.progress?.fold(a.fold, o.folds, 'reused');
    return previous;
  }
  await fs.mkdir(dir, { recursive: true });
  const samples = foldSamples(ds.samples, a);
  const datasetDir = path.join(dir, 'dataset');
  o.progress?.fold(a.fold, o.folds, 'dataset', `${a.train.length} train / ${a.val.length} val / ${a.test.length} test patients`);
  await writeFoldDataset(ds, datasetDir, samples);

  const modelDir = path.join(dir, 'model');
  const resume = await exists(path.join(`${modelDir}.tmp-train`, 'checkpoint.pt'));
  o.progress?.fold(a.fold, o.folds, 'train', resume ? 'resuming from its checkpoint' : undefined);
  const run = await runTrainer({
    dataset: datasetDir, out: modelDir, epochs: o.epochs, resume, python: cliConfig().python,
    extraArgs: ['--seed', String(o.seed), ...o.trainerArgs],
    onEvent: (e) => o.progress?.trainerEvent?.(a.fold, e),
  });
  if (run.exitCode !== 0 || !run.done) throw new Error(`fold ${a.fold}: train: ${(run.lastError ?? `trainer exited with code ${run.exitCode}`).replace(/^error:\s*/, '')}`);
  await fs.rm(path.join(modelDir, 'checkpoint.pt'), { force: true });

  o.progress?.fold(a.fold, o.folds, 'score');
  const bySplit = (name: SplitName) => samples.filter((s) => s.split === name);
  const [train, val, test] = [bySplit('train'), bySplit('val'), bySplit('test')];
  const M = ds.vocab.labels.length;
  const model = await StudentModel.load(modelDir);
  const models: Record<string, FoldModelScores> = {};
  let validation: ModelMetrics;
  try {
    assertSameVocabulary(model, { dir: ds.dir, manifest: ds.manifest, vocab: ds.vocab.toJSON(), ddi: ds.ddi, samples: ds.samples });
    const testProbs = await scoreWithStudent(model, test);
    models[STUDENT] = { probs: Array.from(testProbs), predicted: thresholdPredictions(testProbs, M, model.threshold), rule: `p > ${model.threshold} (val), T = ${model.temperature}` };
    const valProbs = await scoreWithStudent(model, val);
    validation = aggregate(perSampleScores({
      labelCount: M, probs: valProbs, targets: val.map((s) => s.labels), predicted: thresholdPredictions(valProbs, M, model.threshold), visitCount: val.map((s) => s.visitCount),
    }, new DdiPairs(M, ds.ddi.pairs)), val.map((_, i) => i));
  } finally {
    await model.release();
  }
  const ctx: BaselineContext = {
    labelCount: M, tokenCount: ds.vocab.tokens.length, seed: o.seed,
    profileSizes: ds.vocab.profileFields.map((f) => ds.vocab.profileValues(f).length),
  };
  for (const b of runBaselines(train, val, test, ctx)) models[b.name] = { probs: Array.from(b.probs), predicted: b.predicted, rule: b.rule };
  const manifest = model.manifest;
  const result: FoldResult = {
    version: RESULT_VERSION, signature, fold: a.fold,
    patients: { train: a.train.length, val: a.val.length, test: a.test.length },
    samples: { train: train.length, val: val.length, test: test.length },
    labelCount: M,
    test: { ids: test.map((s) => s.id), targets: test.map((s) => s.labels), visitCount: test.map((s) => s.visitCount) },
    models,
    validation: { student: validation },
    trainer: {
      bestEpoch: run.done.best_epoch, epochsRun: run.done.epochs_run, seconds: run.done.seconds, threshold: model.threshold, temperature: model.temperature,
      calibration: (manifest.calibration ?? null) as Record<string, unknown> | null, history: manifest.training.history ?? [],
    },
  };
  await writeFileAtomic(resultFile, `${JSON.stringify(result)}\n`);
  return result;
}

/** Scored samples of one model over several folds' test patients, concatenated. */
export function pooledScores(results: readonly FoldResult[], name: string): ScoredSamples {
  const M = results[0].labelCount;
  const probs = new Float32Array(results.reduce((n, r) => n + r.test.ids.length, 0) * M);
  let offset = 0;
  for (const r of results) {
    probs.set(r.models[name].probs, offset);
    offset += r.models[name].probs.length;
  }
  return {
    labelCount: M, probs,
    targets: results.flatMap((r) => r.test.targets),
    predicted: results.flatMap((r) => r.models[name].predicted),
    visitCount: results.flatMap((r) => r.test.visitCount),
  };
}

function meanStd(xs: ModelMetrics[]): { mean: ModelMetrics; std: ModelMetrics } {
  const mean = {} as ModelMetrics;
  const std = {} as ModelMetrics;
  for (const k of METRIC_KEYS) {
    const v = xs.map((m) => m[k]);
    const mu = v.reduce((s, x) => s + x, 0) / v.length;
    mean[k] = mu;
    std[k] = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mu) ** 2, 0) / (v.length - 1)) : 0;
  }
  return { mean, std };
}

/** Per-fold, mean ± std, pooled, the paired difference intervals and the student's calibration, from finished folds. */
export function summariseFolds(results: readonly FoldResult[], ds: { dir: string; manifest: DatasetManifest; ddi: DatasetDdi }, o: Pick<CrossValidationOptions, 'folds' | 'seed' | 'trainerArgs' | 'trainFraction' | 'bootstrap' | 'out'>, seconds: number): CrossValidationResult {
  const models = Object.keys(results[0].models);
  const ddi = new DdiPairs(results[0].labelCount, ds.ddi.pairs);
  const perFold = results.map((r) => {
    const metrics: Record<string, ModelMetrics> = {};
    for (const name of models) {
      const s = pooledScores([r], name);
      metrics[name] = aggregate(perSampleScores(s, ddi), s.targets.map((_, i) => i));
    }
    return { fold: r.fold, patients: r.patients, metrics, validation: r.validation.student, temperature: r.trainer.temperature, threshold: r.trainer.threshold, bestEpoch: r.trainer.bestEpoch };
  });
  const mean: Record<string, ModelMetrics> = {};
  const std: Record<string, ModelMetrics> = {};
  const pooled: Record<string, ModelMetrics> = {};
  const perSample: Record<string, PerSampleScores> = {};
  for (const name of models) {
    ({ mean: mean[name], std: std[name] } = meanStd(perFold.map((f) => f.metrics[name])));
    const s = pooledScores(results, name);
    perSample[name] = perSampleScores(s, ddi);
    pooled[name] = aggregate(perSample[name], s.targets.map((_, i) => i));
  }
  const baselines = models.filter((m) => m !== STUDENT);
  const resamples = o.bootstrap ?? 2000;
  const difference = {} as CrossValidationResult['difference'];
  for (const metric of ['prauc', 'jaccard'] as const) {
    const best = baselines.reduce((a, b) => (pooled[b][metric] > pooled[a][metric] ? b : a));
    const diffs = perSample[STUDENT][metric].map((x, i) => x - perSample[best][metric][i]);
    const ci = pairedBootstrap(diffs, resamples, o.seed);
    const verdict = ci.high < 0 ? 'student below the best baseline (interval below 0)'
      : ci.low > 0 ? 'student above the best baseline (interval above 0)'
        : ci.mean >= 0 ? 'student at least the best baseline (interval spans 0)' : 'student below the best baseline on average, interval spans 0';
    difference[metric] = { ...ci, baseline: best, resamples, verdict };
  }
  const studentPooled = pooledScores(results, STUDENT);
  return {
    dataset: { dir: ds.dir, description: ds.manifest.source?.description ?? path.basename(ds.dir), vocabHash: ds.manifest.vocabHash, patients: results.reduce((n, r) => n + r.patients.test, 0), perVisit: ds.manifest.options.perVisit },
    folds: o.folds, seed: o.seed, trainFraction: o.trainFraction ?? 1, trainerArgs: o.trainerArgs, models,
    perFold, mean, std, pooled,
    validation: meanStd(perFold.map((f) => f.validation)).mean,
    difference,
    calibration: reliability(studentPooled.probs, studentPooled.targets, studentPooled.labelCount),
    seconds, out: o.out,
  };
}

/** Run (or resume) all folds and summarise them. */
export async function crossValidate(o: CrossValidationOptions): Promise<CrossValidationResult> {
  const started = Date.now();
  const ds = await readDataset(o.dataset);
  const signature = signatureOf(o, ds);
  const assignments = assignFolds(ds.samples.map((s) => s.patientId), o.folds, o.seed, o.trainFraction ?? 1);
  await fs.mkdir(o.out, { recursive: true });
  const results: FoldResult[] = [];
  for (const a of assignments) results.push(await runFold(o, ds, a, signature));
  const summary = summariseFolds(results, ds, o, (Date.now() - started) / 1000);
  await writeFileAtomic(path.join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  return summary;
}

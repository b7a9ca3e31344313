/**
 * `leader evaluate`'s engine: the student through onnxruntime-node (the served path), LEADER's
 * metrics with 10 × 80 % rounds and single/multi-visit groups, and the baselines on the same split.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write';
import type { ModelManifest } from '../inference/model-manifest.types';
import { buildStudentBatch, sizeOrder } from '../leader/tensors/student-batch';
import { StudentModel, normaliseSha256 } from '../inference/student-model';
import { runBaselines, type BaselineContext } from './baselines';
import type { DatasetDdi, DatasetManifest, DatasetSample, DatasetVocab, SplitName } from './dataset.schema';
import { readDataset } from './dataset.reader';
import { lastVisitSamples } from './splits';
import {
  DdiPairs, DEFAULT_ROUNDS, evaluateScored, thresholdPredictions, type EvaluationReport, type ModelMetrics,
  type RoundedMetrics, type RoundOptions, type ScoredSamples,
} from './metrics';

/** The parts of a dataset folder evaluation reads. */
export interface EvaluationDataset {
  dir: string;
  manifest: DatasetManifest;
  vocab: DatasetVocab;
  ddi: DatasetDdi;
  samples: DatasetSample[];
}

/** Read and check a `leader dataset` folder (CliError naming the file on bad input). */
export async function loadEvaluationDataset(dir: string): Promise<EvaluationDataset> {
  const ds = await readDataset(dir);
  return { dir: ds.dir, manifest: ds.manifest, vocab: ds.vocab.toJSON(), ddi: ds.ddi, samples: ds.samples };
}

export class VocabularyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VocabularyMismatchError';
  }
}

/** A model may only be evaluated on a dataset built with the vocabulary it was trained on. */
export function assertSameVocabulary(model: StudentModel, dataset: EvaluationDataset): void {
  const m = normaliseSha256(model.manifest.vocabHash);
  const d = normaliseSha256(dataset.manifest.vocabHash);
  if (m !== d) {
    throw new VocabularyMismatchError(`vocabulary mismatch: model ${model.dir} trained on vocab ${m.slice(0, 16)}, dataset ${dataset.dir} has ${d.slice(0, 16)}`);
  }
}

/** Student probabilities [n, M] for `samples` (in their order), in size-ordered batches through the ONNX session. */
export async function scoreWithStudent(model: StudentModel, samples: readonly DatasetSample[], batchSize = 32): Promise<Float32Array> {
  const M = model.labelCount;
  const probs = new Float32Array(samples.length * M);
  const order = sizeOrder(samples.map((s) => s.student));
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    const out = await model.predict(buildStudentBatch(chunk.map((i) => samples[i].student)));
    chunk.forEach((i, row) => probs.set(out.probs.subarray(row * M, (row + 1) * M), i * M));
  }
  return probs;
}

export interface MetricsSummary {
  n: number;
  metrics: ModelMetrics;
  metrics_std: ModelMetrics;
  /** On the whole split (no subsampling). */
  metrics_all: ModelMetrics;
}

export interface ModelEvaluation extends MetricsSummary {
  model: { dir: string; name: string; version: string; threshold: number; vocabHash: string; scale: string | undefined };
  groups: { single: MetricsSummary; multi: MetricsSummary };
}

export interface BaselineEvaluation extends MetricsSummary {
  rule: string;
  groups: { single: MetricsSummary; multi: MetricsSummary };
}

export interface EvaluationResult extends ModelEvaluation {
  dataset: { dir: string; vocabHash: string; samples: number; source: string };
  split: SplitName;
  rounds: RoundOptions;
  baselines: Record<string, ModelMetrics>;
  baselines_std: Record<string, ModelMetrics>;
  baseline_details: Record<string, BaselineEvaluation>;
  compare: ModelEvaluation[];
  /** LEADER's teacher (teacher head on cached LLM features), when `--teacher` was given. */
  teacher?: TeacherEvaluation;
  /** The scored split per model (student first, then the baselines), for plots. */
  scores: Record<string, ScoredSamples>;
}

export interface TeacherEvaluation extends MetricsSummary {
  name: string;
  threshold: number;
  groups: { single: MetricsSummary; multi: MetricsSummary };
}

function summary(r: RoundedMetrics): MetricsSummary {
  return { n: r.n, metrics: r.mean, metrics_std: r.std, metrics_all: r.all };
}

function summarise(report: EvaluationReport): MetricsSummary & { groups: { single: MetricsSummary; multi: MetricsSummary } } {
  return { ...summary(report.overall), groups: { single: summary(report.groups.single), multi: summary(report.groups.multi) } };
}

async function evaluateOne(model: StudentModel, dataset: EvaluationDataset, test: DatasetSample[], rounds: RoundOptions): Promise<ModelEvaluation & { scored: ScoredSamples }> {
  assertSameVocabulary(model, dataset);
  const probs = await scoreWithStudent(model, test);
  const M = model.labelCount;
  const scored: ScoredSamples = {
    labelCount: M,
    probs,
    targets: test.map((s) => s.labels),
    predicted: thresholdPredictions(probs, M, model.threshold),
    visitCount: test.map((s) => s.visitCount),
  };
  const report = evaluateScored(scored, new DdiPairs(M, dataset.ddi.pairs), rounds);
  return {
    model: {
      dir: model.dir, name: model.manifest.name, version: model.manifest.version, threshold: model.threshold,
      vocabHash: model.manifest.vocabHash, scale: model.manifest.training?.scale,
    },
    ...summarise(report),
    scored,
  };
}

export interface EvaluateOptions {
  split?: SplitName;
  rounds?: RoundOptions;
  /** More models to evaluate on the same split (e.g. KD vs no-KD), shown as extra rows. */
  compare?: StudentModel[];
  /** Teacher probabilities [n, M] for the evaluated split's samples, in dataset order (teacher/teacher-evaluation.ts). */
  teacher?: { name: string; probs: Float32Array; threshold: number };
  /** Seed of the logistic-regression baseline (default 42). */
  seed?: number;
}

/** A split as it is used: every train sample; val and test are each patient's last visit (per-visit datasets). */
export function evaluationSamples(dataset: Pick<EvaluationDataset, 'samples'>, split: SplitName): DatasetSample[] {
  const samples = dataset.samples.filter((s) => s.split === split);
  return split === 'train' ? samples : lastVisitSamples(samples);
}

export async function evaluateStudent(model: StudentModel, dataset: EvaluationDataset, opts: EvaluateOptions = {}): Promise<EvaluationResult> {
  const split = opts.split ?? 'test';
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  assertSameVocabulary(model, dataset);
  for (const other of opts.compare ?? []) assertSameVocabulary(other, dataset);
  const bySplit = (name: SplitName) => evaluationSamples(dataset, name);
  const test = bySplit(split);
  if (test.length === 0) throw new RangeError(`dataset ${dataset.dir} has no ${split} samples`);
  const { scored: studentScores, ...main } = await evaluateOne(model, dataset, test, rounds);
  const scores: Record<string, ScoredSamples> = { student: studentScores };
  const compare: ModelEvaluation[] = [];
  for (const other of opts.compare ?? []) {
    const { scored, ...evaluation } = await evaluateOne(other, dataset, test, rounds);
    void scored;
    compare.push(evaluation);
  }

  const M = dataset.vocab.labels.length;
  const ctx: BaselineContext = {
    labelCount: M,
    tokenCount: dataset.vocab.tokens.length,
    profileSizes: dataset.vocab.profileFields.map((f) => dataset.vocab.profileValues[f]?.length ?? 1),
    seed: opts.seed ?? 42,
  };
  const ddi = new DdiPairs(M, dataset.ddi.pairs);
  const baselines: Record<string, ModelMetrics> = {};
  const baselinesStd: Record<string, ModelMetrics> = {};
  const details: Record<string, BaselineEvaluation> = {};
  // Baselines always learn from train and pick thresholds on val, whatever split is evaluated.
  for (const b of runBaselines(bySplit('train'), bySplit('val'), test, ctx)) {
    const scored: ScoredSamples = { labelCount: M, probs: b.probs, targets: test.map((s) => s.labels), predicted: b.predicted, visitCount: test.map((s) => s.visitCount) };
    scores[b.name] = scored;
    const report = evaluateScored(scored, ddi, rounds);
    const s = summarise(report);
    baselines[b.name] = s.metrics;
    baselinesStd[b.name] = s.metrics_std;
    details[b.name] = { rule: b.rule, ...s };
  }
  return {
    ...main,
    dataset: { dir: dataset.dir, vocabHash: dataset.manifest.vocabHash, samples: dataset.samples.length, source: dataset.manifest.source?.location ?? '' },
    split,
    rounds,
    baselines,
    baselines_std: baselinesStd,
    baseline_details: details,
    compare,
    scores,
    ...(opts.teacher ? {
      teacher: {
        name: opts.teacher.name, threshold: opts.teacher.threshold,
        ...summarise(evaluateScored({
          labelCount: M, probs: opts.teacher.probs, targets: test.map((s) => s.labels), visitCount: test.map((s) => s.visitCount),
          predicted: thresholdPredictions(opts.teacher.probs, M, opts.teacher.threshold),
        }, ddi, rounds)),
      },
    } : {}),
  };
}

const COLUMNS: [keyof ModelMetrics, string][] = [['jaccard', 'Jaccard'], ['f1', 'F1'], ['prauc', 'PRAUC'], ['ddi_rate', 'DDI'], ['avg_med', '#Med']];

function row(name: string, n: number, mean: ModelMetrics, std: ModelMetrics, note = ''): string {
  const cells = COLUMNS.map(([k]) => k === 'avg_med' ? `${mean[k].toFixed(2)} ± ${std[k].toFixed(2)}` : `${mean[k].toFixed(4)} ± ${std[k].toFixed(4)}`);
  return [name.padEnd(50), String(n).padStart(5), ...cells.map((c) => c.padStart(17)), note ? `  ${note}` : ''].join(' ').trimEnd();
}

/** The human-readable report of `leader evaluate` (no --json). */
export function formatEvaluationTable(r: EvaluationResult): string {
  const header = ['model'.padEnd(50), 'n'.padStart(5), ...COLUMNS.map(([, h]) => h.padStart(17))].join(' ');
  const lines: string[] = [];
  lines.push(`split ${r.split} of ${r.dataset.dir}: ${r.n} samples; mean ± std over ${r.rounds.rounds} rounds of ${Math.round(r.rounds.fraction * 100)} % subsamples without replacement (seed ${r.rounds.seed})`);
  if (r.model.scale) lines.push(`model ${r.model.name} ${r.model.version}: ${r.model.scale}`);
  lines.push('', header, '-'.repeat(header.length));
  lines.push(row(`${r.model.name} (student, p > ${r.model.threshold})`, r.n, r.metrics, r.metrics_std));
  for (const c of r.compare) lines.push(row(`${c.model.name} (${c.model.dir.split('/').pop()}, p > ${c.model.threshold})`, c.n, c.metrics, c.metrics_std));
  if (r.teacher) lines.push(row(`${r.teacher.name} (teacher, p > ${r.teacher.threshold})`, r.teacher.n, r.teacher.metrics, r.teacher.metrics_std));
  for (const [name, d] of Object.entries(r.baseline_details)) lines.push(row(`${name} (${d.rule})`, d.n, d.metrics, d.metrics_std));
  lines.push('', 'groups (student):', header, '-'.repeat(header.length));
  lines.push(row('single-visit', r.groups.single.n, r.groups.single.metrics, r.groups.single.metrics_std));
  lines.push(row('multi-visit', r.groups.multi.n, r.groups.multi.metrics, r.groups.multi.metrics_std));
  const mf = r.baselines['most-frequent-k'];
  if (mf) {
    const verdict = r.metrics.prauc >= mf.prauc ? 'at least' : 'BELOW';
    lines.push('', `student PRAUC ${r.metrics.prauc.toFixed(4)} is ${verdict} the most-frequent baseline's ${mf.prauc.toFixed(4)}`);
  }
  return lines.join('\n');
}

/** The manifest `metrics` block recording `r` (test metrics next to the baselines, same split and rounds). */
export function manifestMetricsBlock(r: EvaluationResult, evaluatedAt = new Date().toISOString()): NonNullable<ModelManifest['metrics']> {
  return {
    split: r.split,
    student: r.metrics,
    baselines: r.baselines,
    n: r.n,
    rounds: r.rounds,
    studentStd: r.metrics_std,
    baselinesStd: r.baselines_std,
    studentAll: r.metrics_all,
    groups: { single: { n: r.groups.single.n, student: r.groups.single.metrics }, multi: { n: r.groups.multi.n, student: r.groups.multi.metrics } },
    evaluatedWith: 'leader evaluate (onnxruntime-node; mean over rounds of 80 % subsamples without replacement)',
    evaluatedAt,
  };
}

/** Write the metrics block into DIR/manifest.json (atomically; the ONNX and vocab hashes are untouched). */
export async function recordMetricsInManifest(modelDir: string, r: EvaluationResult): Promise<string> {
  const file = path.join(modelDir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as ModelManifest;
  manifest.metrics = manifestMetricsBlock(r);
  await writeFileAtomic(file, `${JSON.stringify(manifest, null, 1)}\n`);
  return file;
}

/** The `--json` object: metrics / baselines keyed by name with jaccard, f1, prauc, ddi_rate, avg_med. */
export function evaluationJson(r: EvaluationResult): Record<string, unknown> {
  return {
    model: r.model,
    dataset: r.dataset,
    split: r.split,
    n: r.n,
    rounds: r.rounds,
    metrics: r.metrics,
    metrics_std: r.metrics_std,
    metrics_all: r.metrics_all,
    groups: r.groups,
    baselines: r.baselines,
    baselines_std: r.baselines_std,
    baseline_rules: Object.fromEntries(Object.entries(r.baseline_details).map(([k, v]) => [k, v.rule])),
    baseline_groups: Object.fromEntries(Object.entries(r.baseline_details).map(([k, v]) => [k, v.groups])),
    compare: r.compare,
    teacher: r.teacher ?? null,
  };
}

/**
 * Non-neural baselines evaluated next to the student, on the same split, with the same metrics:
 *
 *  - most-frequent-k: every patient gets the k most frequent train labels, k = round(mean train
 *    label count); its scores (for PRAUC) are the train label frequencies.
 *  - co-occurrence: score(m) = max over the sample's tokens t (current visit's diagnoses and
 *    procedures, all history medications) of P(m | t) on train, shrunk toward the label prior
 *    P(m) with one pseudo-count: (n(t,m) + P(m)) / (n(t) + 1). A history medication's own label
 *    thus scores its persistence probability. No known token → P(m).
 *  - logistic regression: one-vs-rest over a multi-hot bag (current diagnoses/procedures, history
 *    medications, profile one-hot), minibatch gradient descent with L2 in Float32Array math.
 *
 * The two scoring baselines binarise with a threshold picked on the val split by the student's
 * rule (`chooseThreshold`); most-frequent-k predicts its top k.
 */
import type { StudentSample } from '../leader/tensors/student-input.types';
import { mulberry32 } from '../common/random';
import { sampleF1, thresholdPredictions, topKPredictions } from './metrics';

/** What a baseline reads of a dataset sample (a DatasetSample satisfies it). */
export interface BaselineSample {
  labels: number[];
  student: StudentSample;
}

export interface BaselineContext {
  labelCount: number;
  tokenCount: number;
  /** Number of values per profile field, in profile order. */
  profileSizes: number[];
  seed: number;
}

export interface BaselineOutput {
  name: string;
  probs: Float32Array;
  predicted: number[][];
  /** How the scores were binarised, e.g. `top-5` or `p > 0.25 (val)`. */
  rule: string;
}

export const BASELINE_NAMES = ['most-frequent-k', 'co-occurrence', 'logistic-regression'] as const;

/**
 * The student's threshold rule (trainer/leader_trainer/metrics.py `choose_threshold`), used for the
 * baselines too: maximise mean sample-wise val F1 over 0.05..0.95 step 0.05.
 */
export const THRESHOLD_GRID = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/**
 * Pick the grid threshold with the highest mean val F1 (ties: the one closest to LEADER's 0.3).
 * With no val samples, LEADER's fixed 0.3. `score` swaps the sample-wise metric (docs/experiments.md
 * compares rules with it; training and serving use F1).
 */
export function chooseThreshold(
  probs: Float32Array, targets: number[][], labelCount: number, grid = THRESHOLD_GRID,
  score: (predicted: readonly number[], target: readonly number[]) => number = sampleF1,
): number {
  if (targets.length === 0) return 0.3;
  let best = 0.3;
  let bestScore = -1;
  for (const t of grid) {
    const pred = thresholdPredictions(probs, labelCount, t);
    let s = 0;
    for (let i = 0; i < targets.length; i++) s += score(pred[i], targets[i]);
    s /= targets.length;
    if (s > bestScore + 1e-12 || (Math.abs(s - bestScore) <= 1e-12 && Math.abs(t - 0.3) < Math.abs(best - 0.3))) {
      bestScore = s;
      best = t;
    }
  }
  return best;
}

/** Token ids of the current (last) visit's diagnoses and procedures and of all history medications. */
export function sampleTokens(s: StudentSample): number[] {
  const last = s.diag.length - 1;
  const out = new Set<number>();
  for (const t of s.diag[last] ?? []) if (t !== 0) out.add(t);
  for (const t of s.proc[last] ?? []) if (t !== 0) out.add(t);
  for (const visit of s.med) for (const t of visit) if (t !== 0) out.add(t);
  return [...out];
}

function labelFrequencies(train: readonly BaselineSample[], labelCount: number): Float64Array {
  const freq = new Float64Array(labelCount);
  for (const s of train) for (const m of new Set(s.labels)) freq[m]++;
  if (train.length) for (let m = 0; m < labelCount; m++) freq[m] /= train.length;
  return freq;
}

export function mostFrequentK(train: readonly BaselineSample[], test: readonly BaselineSample[], ctx: BaselineContext): BaselineOutput {
  const freq = labelFrequencies(train, ctx.labelCount);
  const meanCount = train.length ? train.reduce((a, s) => a + new Set(s.labels).size, 0) / train.length : 1;
  const k = Math.max(1, Math.round(meanCount));
  const probs = new Float32Array(test.length * ctx.labelCount);
  for (let i = 0; i < test.length; i++) for (let m = 0; m < ctx.labelCount; m++) probs[i * ctx.labelCount + m] = freq[m];
  return { name: 'most-frequent-k', probs, predicted: topKPredictions(probs, ctx.labelCount, k), rule: `top-${k}` };
}

export class CooccurrenceModel {
  private readonly prior: Float64Array;
  private readonly tokenCount = new Map<number, number>();
  private readonly joint = new Map<number, Map<number, number>>();

  constructor(train: readonly BaselineSample[], private readonly labelCount: number) {
    this.prior = labelFrequencies(train, labelCount);
    for (const s of train) {
      const labels = [...new Set(s.labels)];
      for (const t of sampleTokens(s.student)) {
        this.tokenCount.set(t, (this.tokenCount.get(t) ?? 0) + 1);
        let row = this.joint.get(t);
        if (!row) this.joint.set(t, (row = new Map()));
        for (const m of labels) row.set(m, (row.get(m) ?? 0) + 1);
      }
    }
  }

  score(samples: readonly BaselineSample[]): Float32Array {
    const M = this.labelCount;
    const probs = new Float32Array(samples.length * M);
    const row = new Float64Array(M);
    for (let i = 0; i < samples.length; i++) {
      let known = false;
      row.fill(0);
      for (const t of sampleTokens(samples[i].student)) {
        const n = this.tokenCount.get(t);
        if (!n) continue;
        known = true;
        const joint = this.joint.get(t)!;
        for (let m = 0; m < M; m++) {
          const p = ((joint.get(m) ?? 0) + this.prior[m]) / (n + 1);
          if (p > row[m]) row[m] = p;
        }
      }
      for (let m = 0; m < M; m++) probs[i * M + m] = known ? row[m] : this.prior[m];
    }
    return probs;
  }
}

export function cooccurrence(train: readonly BaselineSample[], val: readonly BaselineSample[], test: readonly BaselineSample[], ctx: BaselineContext): BaselineOutput {
  const model = new CooccurrenceModel(train, ctx.labelCount);
  const threshold = chooseThreshold(model.score(val), val.map((s) => s.labels), ctx.labelCount);
  const probs = model.score(test);
  return { name: 'co-occurrence', probs, predicted: thresholdPredictions(probs, ctx.labelCount, threshold), rule: `val-chosen p > ${threshold}` };
}

export interface LogisticRegressionOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
}

export const DEFAULT_LR_OPTIONS: LogisticRegressionOptions = { epochs: 40, batchSize: 16, learningRate: 0.1, l2: 1e-4 };

/** One-vs-rest logistic regression on sparse multi-hot features; weights [features, labels]. */
export class LogisticRegressionModel {
  readonly featureCount: number;
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  private readonly profileOffsets: number[];

  constructor(private readonly ctx: BaselineContext) {
    this.profileOffsets = [];
    let off = ctx.tokenCount;
    for (const size of ctx.profileSizes) {
      this.profileOffsets.push(off);
      off += size;
    }
    this.featureCount = off;
    this.weights = new Float32Array(this.featureCount * ctx.labelCount);
    this.bias = new Float32Array(ctx.labelCount);
  }

  features(s: StudentSample): number[] {
    const f = sampleTokens(s).filter((t) => t < this.ctx.tokenCount);
    s.profile.forEach((v, i) => {
      if (i < this.profileOffsets.length && v >= 0 && v < this.ctx.profileSizes[i]) f.push(this.profileOffsets[i] + v);
    });
    return f;
  }

  /** Minibatch gradient descent on mean BCE + (l2/2)·|W|², decay applied to the rows a batch touches. */
  fit(train: readonly BaselineSample[], opts: LogisticRegressionOptions = DEFAULT_LR_OPTIONS): void {
    const M = this.ctx.labelCount;
    const freq = labelFrequencies(train, M);
    for (let m = 0; m < M; m++) {
      const p = Math.min(Math.max(freq[m], 1e-4), 1 - 1e-4);
      this.bias[m] = Math.log(p / (1 - p));
    }
    const feats = train.map((s) => this.features(s.student));
    const targets = train.map((s) => s.labels);
    const rand = mulberry32(this.ctx.seed);
    const order = train.map((_, i) => i);
    const z = new Float32Array(M);
    const gradRows = new Map<number, Float32Array>();
    const gradBias = new Float32Array(M);
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let start = 0; start < order.length; start += opts.batchSize) {
        const batch = order.slice(start, start + opts.batchSize);
        gradRows.clear();
        gradBias.fill(0);
        for (const idx of batch) {
          this.logits(feats[idx], z);
          for (let m = 0; m < M; m++) z[m] = 1 / (1 + Math.exp(-z[m]));
          for (const m of targets[idx]) z[m] -= 1;
          for (let m = 0; m < M; m++) gradBias[m] += z[m];
          for (const f of feats[idx]) {
            let g = gradRows.get(f);
            if (!g) gradRows.set(f, (g = new Float32Array(M)));
            for (let m = 0; m < M; m++) g[m] += z[m];
          }
        }
        const scale = opts.learningRate / batch.length;
        for (let m = 0; m < M; m++) this.bias[m] -= scale * gradBias[m];
        for (const [f, g] of gradRows) {
          const o = f * M;
          for (let m = 0; m < M; m++) this.weights[o + m] -= scale * g[m] + opts.learningRate * opts.l2 * this.weights[o + m];
        }
      }
    }
  }

  private logits(features: readonly number[], out: Float32Array): void {
    const M = this.ctx.labelCount;
    out.set(this.bias);
    for (const f of features) {
      const o = f * M;
      for (let m = 0; m < M; m++) out[m] += this.weights[o + m];
    }
  }

  score(samples: readonly BaselineSample[]): Float32Array {
    const M = this.ctx.labelCount;
    const probs = new Float32Array(samples.length * M);
    const z = new Float32Array(M);
    samples.forEach((s, i) => {
      this.logits(this.features(s.student), z);
      for (let m = 0; m < M; m++) probs[i * M + m] = 1 / (1 + Math.exp(-z[m]));
    });
    return probs;
  }
}

export function logisticRegression(
  train: readonly BaselineSample[], val: readonly BaselineSample[], test: readonly BaselineSample[], ctx: BaselineContext,
  opts: LogisticRegressionOptions = DEFAULT_LR_OPTIONS,
): BaselineOutput {
  const model = new LogisticRegressionModel(ctx);
  model.fit(train, opts);
  const threshold = chooseThreshold(model.score(val), val.map((s) => s.labels), ctx.labelCount);
  const probs = model.score(test);
  return { name: 'logistic-regression', probs, predicted: thresholdPredictions(probs, ctx.labelCount, threshold), rule: `val-chosen p > ${threshold}` };
}

/** All baselines, fitted on `train`, thresholds from `val`, scored on `test`. */
export function runBaselines(train: readonly BaselineSample[], val: readonly BaselineSample[], test: readonly BaselineSample[], ctx: BaselineContext): BaselineOutput[] {
  return [mostFrequentK(train, test, ctx), cooccurrence(train, val, test, ctx), logisticRegression(train, val, test, ctx)];
}

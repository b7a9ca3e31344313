/**
 * LEADER's evaluation metrics (leader.md §5.1), pure functions over per-sample label sets and
 * probabilities. Definitions follow `utils/utils.py::multi_label_metric` / `ddi_rate_score` of the
 * reference code; avg #med follows SafeDrug (mean predicted-set size).
 */
import type { ModelMetrics } from '../inference/model-manifest.types';
import { mulberry32 } from '../common/random';

export type { ModelMetrics };

export const METRIC_KEYS = ['jaccard', 'f1', 'prauc', 'ddi_rate', 'avg_med'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Scores of one split: `probs[i * labelCount + m]` is sample i's probability of label m. */
export interface ScoredSamples {
  labelCount: number;
  probs: Float32Array;
  /** Target label indices per sample. */
  targets: number[][];
  /** Predicted label indices per sample (after thresholding or top-k). */
  predicted: number[][];
  /** Visits the student saw per sample (1 = single-visit patient). */
  visitCount: number[];
}

/** Per-sample |Ŷ∩Y| / |Ŷ∪Y| (0 when both are empty, which never happens with a non-empty target). */
export function sampleJaccard(predicted: readonly number[], target: readonly number[]): number {
  const t = new Set(target);
  const p = new Set(predicted);
  let inter = 0;
  for (const x of p) if (t.has(x)) inter++;
  const union = p.size + t.size - inter;
  return union === 0 ? 0 : inter / union;
}

/** LEADER's per-sample F1: harmonic mean of the sample's precision (0 if Ŷ empty) and recall (0 if Y empty). */
export function sampleF1(predicted: readonly number[], target: readonly number[]): number {
  const t = new Set(target);
  const p = new Set(predicted);
  let inter = 0;
  for (const x of p) if (t.has(x)) inter++;
  const precision = p.size === 0 ? 0 : inter / p.size;
  const recall = t.size === 0 ? 0 : inter / t.size;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/**
 * sklearn's `average_precision_score(y_true_row, y_prob_row)` for one sample over its labels:
 * AP = Σ_k (R_k − R_{k−1}) · P_k over the distinct score thresholds, descending; labels with equal
 * scores enter together (one threshold), as in sklearn. No positive label → 0 (sklearn ≥ 1.1 also
 * returns 0 there, with a warning).
 */
export function averagePrecision(scores: ArrayLike<number>, offset: number, count: number, target: readonly number[]): number {
  const positives = new Set(target);
  const totalPos = positives.size;
  if (totalPos === 0) return 0;
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => scores[offset + b] - scores[offset + a]);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < count) {
    const s = scores[offset + order[i]];
    while (i < count && scores[offset + order[i]] === s) {
      if (positives.has(order[i])) tp++;
      else fp++;
      i++;
    }
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    if (tp === totalPos) break;
  }
  return ap;
}

/** Unordered interacting pairs, as a lookup keyed `i*M+j` with i < j. */
export class DdiPairs {
  private readonly set = new Set<number>();
  constructor(readonly labelCount: number, pairs: readonly (readonly [number, number])[]) {
    for (const [a, b] of pairs) this.set.add(a < b ? a * labelCount + b : b * labelCount + a);
  }
  has(a: number, b: number): boolean {
    return this.set.has(a < b ? a * this.labelCount + b : b * this.labelCount + a);
  }
}

/** DDI pair counts of one predicted set: interacting unordered pairs and all unordered pairs. */
export function ddiPairCounts(predicted: readonly number[], ddi: DdiPairs): { ddi: number; all: number } {
  const p = [...new Set(predicted)];
  let d = 0;
  let all = 0;
  for (let i = 0; i < p.length; i++) {
    for (let j = i + 1; j < p.length; j++) {
      all++;
      if (ddi.has(p[i], p[j])) d++;
    }
  }
  return { ddi: d, all };
}

/** Per-sample scores, computed once and then aggregated over any subset (rounds, groups). */
export interface PerSampleScores {
  jaccard: Float64Array;
  f1: Float64Array;
  prauc: Float64Array;
  ddiPairs: Float64Array;
  allPairs: Float64Array;
  size: Float64Array;
}

export function perSampleScores(s: ScoredSamples, ddi: DdiPairs): PerSampleScores {
  const n = s.targets.length;
  const out: PerSampleScores = {
    jaccard: new Float64Array(n), f1: new Float64Array(n), prauc: new Float64Array(n),
    ddiPairs: new Float64Array(n), allPairs: new Float64Array(n), size: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const pred = s.predicted[i];
    out.jaccard[i] = sampleJaccard(pred, s.targets[i]);
    out.f1[i] = sampleF1(pred, s.targets[i]);
    out.prauc[i] = averagePrecision(s.probs, i * s.labelCount, s.labelCount, s.targets[i]);
    const c = ddiPairCounts(pred, ddi);
    out.ddiPairs[i] = c.ddi;
    out.allPairs[i] = c.all;
    out.size[i] = new Set(pred).size;
  }
  return out;
}

/**
 * Metrics over a subset of samples. Jaccard, F1, PRAUC and avg #med are sample means; the DDI rate
 * pools pairs over all predicted sets (SafeDrug's `ddi_rate_score`), 0 when no set has two labels.
 */
export function aggregate(p: PerSampleScores, indices: readonly number[]): ModelMetrics {
  const n = indices.length;
  if (n === 0) return { jaccard: 0, f1: 0, prauc: 0, ddi_rate: 0, avg_med: 0 };
  let j = 0, f = 0, a = 0, d = 0, all = 0, sz = 0;
  for (const i of indices) {
    j += p.jaccard[i]; f += p.f1[i]; a += p.prauc[i]; d += p.ddiPairs[i]; all += p.allPairs[i]; sz += p.size[i];
  }
  return { jaccard: j / n, f1: f / n, prauc: a / n, ddi_rate: all === 0 ? 0 : d / all, avg_med: sz / n };
}


/** `floor(fraction·n)` distinct indices of `items`, drawn without replacement (partial Fisher–Yates). */
export function subsampleWithoutReplacement<T>(items: readonly T[], fraction: number, rand: () => number): T[] {
  const a = items.slice();
  const k = Math.floor(fraction * a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

export interface RoundedMetrics {
  n: number;
  /** Mean over rounds. */
  mean: ModelMetrics;
  /** Population std over rounds (numpy's default, as LEADER's `multi_test` prints). */
  std: ModelMetrics;
  /** On all samples of the subset, no subsampling. */
  all: ModelMetrics;
}

export interface RoundOptions {
  rounds: number;
  fraction: number;
  seed: number;
}

export const DEFAULT_ROUNDS: RoundOptions = { rounds: 10, fraction: 0.8, seed: 42 };

/** LEADER's "10 rounds": `rounds` random `fraction` subsamples without replacement → mean ± std. */
export function roundedMetrics(p: PerSampleScores, indices: readonly number[], opts: RoundOptions = DEFAULT_ROUNDS): RoundedMetrics {
  const rand = mulberry32(opts.seed);
  const per: ModelMetrics[] = [];
  for (let r = 0; r < opts.rounds; r++) per.push(aggregate(p, subsampleWithoutReplacement(indices, opts.fraction, rand)));
  const mean = {} as ModelMetrics;
  const std = {} as ModelMetrics;
  for (const k of METRIC_KEYS) {
    const xs = per.map((m) => m[k]);
    const mu = xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0;
    mean[k] = mu;
    std[k] = xs.length ? Math.sqrt(xs.reduce((s, x) => s + (x - mu) ** 2, 0) / xs.length) : 0;
  }
  return { n: indices.length, mean, std, all: aggregate(p, indices) };
}

export interface EvaluationReport {
  overall: RoundedMetrics;
  groups: { single: RoundedMetrics; multi: RoundedMetrics };
}

/** Overall metrics plus the single-visit (visitCount == 1) and multi-visit groups, all with rounds. */
export function evaluateScored(s: ScoredSamples, ddi: DdiPairs, opts: RoundOptions = DEFAULT_ROUNDS): EvaluationReport {
  const p = perSampleScores(s, ddi);
  const all = s.targets.map((_, i) => i);
  return {
    overall: roundedMetrics(p, all, opts),
    groups: {
      single: roundedMetrics(p, all.filter((i) => s.visitCount[i] === 1), opts),
      multi: roundedMetrics(p, all.filter((i) => s.visitCount[i] > 1), opts),
    },
  };
}

/**
 * Labels with prob > threshold (LEADER's student binarises with `p > 0.3`). Compared in float32, as
 * numpy compares a float32 array with a Python float, so fround(0.3) is not above 0.3.
 */
export function thresholdPredictions(probs: Float32Array, labelCount: number, threshold: number): number[][] {
  const n = probs.length / labelCount;
  threshold = Math.fround(threshold);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let m = 0; m < labelCount; m++) if (probs[i * labelCount + m] > threshold) row.push(m);
    out.push(row);
  }
  return out;
}

/** The k highest-scoring labels per sample (ties broken by lower label index). */
export function topKPredictions(probs: Float32Array, labelCount: number, k: number): number[][] {
  const n = probs.length / labelCount;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = Array.from({ length: labelCount }, (_, m) => m);
    idx.sort((a, b) => probs[i * labelCount + b] - probs[i * labelCount + a] || a - b);
    out.push(idx.slice(0, Math.min(k, labelCount)).sort((a, b) => a - b));
  }
  return out;
}

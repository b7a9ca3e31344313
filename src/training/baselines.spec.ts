import {
  BaselineContext, BaselineSample, chooseThreshold, CooccurrenceModel, LogisticRegressionModel, mostFrequentK,
  runBaselines, sampleTokens, THRESHOLD_GRID,
} from './baselines';
import { averagePrecision } from './metrics';

/** A one-visit sample with diagnoses `diag`, or a two-visit one whose first visit prescribed `history`. */
function sample(labels: number[], diag: number[], history: number[] = [], profile = [1]): BaselineSample {
  return history.length
    ? { labels, student: { diag: [[], diag], proc: [[], []], med: [[], history], profile } }
    : { labels, student: { diag: [diag], proc: [[]], med: [[]], profile } };
}

const ctx: BaselineContext = { labelCount: 3, tokenCount: 20, profileSizes: [3], seed: 42 };

describe('baselines', () => {
  describe(sampleTokens.name, () => {
    it('takes the last visit\'s diagnoses and procedures and every history medication, not older diagnoses', () => {
      expect(sampleTokens({ diag: [[5], [6, 0]], proc: [[7], [8]], med: [[], [11, 12]], profile: [0] }).sort()).toEqual([11, 12, 6, 8]);
    });
  });

  describe(mostFrequentK.name, () => {
    it('predicts the k = round(mean label count) most frequent train labels, scored by frequency', () => {
      const train = [sample([0, 1], [1]), sample([0], [1]), sample([0, 2], [1]), sample([1, 2], [1])];
      const sut = mostFrequentK(train, [sample([2], [1])], ctx);
      // frequencies: 0 → 3/4, 1 → 2/4, 2 → 2/4; mean count 1.75 → k = 2, tie 1 vs 2 → lower index
      expect(Array.from(sut.probs)).toEqual([0.75, 0.5, 0.5]);
      expect(sut.predicted).toEqual([[0, 1]]);
      expect(sut.rule).toBe('top-2');
    });
  });

  describe(CooccurrenceModel.name, () => {
    it('scores max_t (n(t,m) + P(m)) / (n(t) + 1), history medications included', () => {
      const train = [sample([0], [1]), sample([0], [1]), sample([1], [2], [10]), sample([1, 2], [3], [10])];
      const sut = new CooccurrenceModel(train, 3);
      // P(m) = [2/4, 2/4, 1/4]; token 1 → label 0 twice in 2; token 10 → label 1 twice, label 2 once, in 2
      const [a, b, c] = Array.from(sut.score([sample([0], [1])]));
      expect(a).toBeCloseTo((2 + 0.5) / 3, 6);
      expect(b).toBeCloseTo(0.5 / 3, 6);
      expect(c).toBeCloseTo(0.25 / 3, 6);
      const withHistory = Array.from(sut.score([sample([1], [1], [10])]));
      expect(withHistory[1]).toBeCloseTo((2 + 0.5) / 3, 6); // persistence of the history medication
      expect(withHistory[0]).toBeCloseTo((2 + 0.5) / 3, 6);
      expect(Array.from(sut.score([sample([1], [19])]))).toEqual([0.5, 0.5, 0.25]); // unknown token → prior
    });
  });

  describe(LogisticRegressionModel.name, () => {
    it('learns a separable token → label mapping (ranks the right label first)', () => {
      const train: BaselineSample[] = [];
      for (let i = 0; i < 30; i++) train.push(sample([0], [1]), sample([1], [2]), sample([2], [3], [], [2]));
      const sut = new LogisticRegressionModel(ctx);
      sut.fit(train, { epochs: 30, batchSize: 8, learningRate: 0.5, l2: 1e-4 });
      const probs = sut.score([sample([0], [1]), sample([1], [2]), sample([2], [3], [], [2])]);
      for (let i = 0; i < 3; i++) expect(averagePrecision(probs, i * 3, 3, [i])).toBe(1);
      expect(probs[0]).toBeGreaterThan(0.8);
      expect(probs[1]).toBeLessThan(0.2);
    });

    it('is reproducible for a seed', () => {
      const train = [sample([0], [1]), sample([1], [2]), sample([0, 1], [1, 2])];
      const a = new LogisticRegressionModel(ctx);
      const b = new LogisticRegressionModel(ctx);
      a.fit(train);
      b.fit(train);
      expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    });
  });

  describe(chooseThreshold.name, () => {
    it('picks the grid value with the best mean val F1, 0.3 without val samples', () => {
      const probs = Float32Array.from([0.62, 0.58, 0.1, /**/ 0.7, 0.2, 0.57]);
      // targets {0}, {0}: only 0.6 keeps exactly label 0 in both rows (F1 = 1); 0.55 adds a wrong label to each
      expect(chooseThreshold(probs, [[0], [0]], 3)).toBe(0.6);
      expect(chooseThreshold(probs, [[0, 1], [0, 2]], 3)).toBe(0.3);
      expect(chooseThreshold(probs, [], 3)).toBe(0.3);
    });

    it('maximises the given sample-wise score instead of F1', () => {
      const probs = Float32Array.from([0.62, 0.58, 0.1, /**/ 0.7, 0.2, 0.57]);
      // F1 picks 0.3 for these targets; a score that wants exactly one label per row picks 0.6
      const oneLabel = (predicted: readonly number[]) => (predicted.length === 1 ? 1 : 0);
      expect(chooseThreshold(probs, [[0, 1], [0, 2]], 3, THRESHOLD_GRID, oneLabel)).toBe(0.6);
    });
  });

  describe(runBaselines.name, () => {
    it('returns the three baselines with [n, M] probabilities and a rule each', () => {
      const train = [sample([0], [1]), sample([1], [2]), sample([0, 2], [3])];
      const out = runBaselines(train, train, [sample([0], [1]), sample([1], [2])], ctx);
      expect(out.map((b) => b.name)).toEqual(['most-frequent-k', 'co-occurrence', 'logistic-regression']);
      for (const b of out) {
        expect(b.probs).toHaveLength(6);
        expect(b.predicted).toHaveLength(2);
        expect(b.rule).toMatch(/^(top-\d+|val-chosen p > [\d.]+)$/);
      }
    });
  });
});

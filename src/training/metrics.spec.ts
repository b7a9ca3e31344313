import { mulberry32 } from '../common/random';
import {
  aggregate, averagePrecision, DdiPairs, ddiPairCounts, evaluateScored, perSampleScores, roundedMetrics,
  sampleF1, sampleJaccard, subsampleWithoutReplacement, thresholdPredictions, topKPredictions,
} from './metrics';

describe('metrics', () => {
  describe(sampleJaccard.name, () => {
    it.each([
      [[0, 1, 2], [1, 2, 3], 2 / 4],
      [[1, 2], [1, 2], 1],
      [[], [1], 0],
      [[5], [1], 0],
      [[1], [1, 2, 3, 4], 1 / 4],
    ])('jaccard(%j, %j) = %d', (pred, target, expected) => {
      expect(sampleJaccard(pred, target)).toBeCloseTo(expected, 12);
    });
  });

  describe(sampleF1.name, () => {
    it.each([
      [[0, 1, 2], [1, 2, 3], 2 / 3], // P = 2/3, R = 2/3
      [[1], [1, 2, 3, 4], (2 * 1 * 0.25) / 1.25], // P = 1, R = 1/4 → 0.4
      [[], [1], 0], // empty prediction: precision 0
      [[7, 8], [1], 0],
    ])('f1(%j, %j) = %d', (pred, target, expected) => {
      expect(sampleF1(pred, target)).toBeCloseTo(expected, 12);
    });
  });

  describe(averagePrecision.name, () => {
    // Values checked against sklearn.metrics.average_precision_score by hand:
    it.each([
      // sklearn docs example: y=[0,0,1,1], s=[.1,.4,.35,.8] → 0.8333…
      [[0.1, 0.4, 0.35, 0.8], [2, 3], 5 / 6],
      // all positives ranked first → 1
      [[0.9, 0.8, 0.1], [0, 1], 1],
      // tie at 0.5 among {pos, neg, pos}: one threshold, R 0→1 at P 2/3
      [[0.5, 0.5, 0.5, 0.1], [0, 2], 2 / 3],
      // negative ranked first, then tie {pos, neg}: P at R=1 is 1/3
      [[0.5, 0.5, 0.9], [0], 1 / 3],
      // positives at ranks 1 and 3: (1/2)·1 + (1/2)·(2/3)
      [[0.9, 0.8, 0.7, 0.1], [0, 2], 0.5 + 1 / 3],
      // no positive label → 0
      [[0.3, 0.2], [], 0],
    ])('AP(%j, positives %j) = %d', (scores, target, expected) => {
      expect(averagePrecision(Float32Array.from(scores), 0, scores.length, target)).toBeCloseTo(expected, 6);
    });

    it('reads one row of a flat [n, M] matrix', () => {
      const probs = Float32Array.from([0.9, 0.1, 0.2, /* row 1 */ 0.1, 0.2, 0.9]);
      expect(averagePrecision(probs, 3, 3, [2])).toBe(1);
      expect(averagePrecision(probs, 3, 3, [0])).toBeCloseTo(1 / 3, 6);
    });
  });

  describe(ddiPairCounts.name, () => {
    it('counts unordered interacting pairs of one set, in either order of the pair', () => {
      const ddi = new DdiPairs(4, [[0, 1], [3, 2]]);
      expect(ddiPairCounts([0, 1, 2], ddi)).toEqual({ ddi: 1, all: 3 });
      expect(ddiPairCounts([2, 3], ddi)).toEqual({ ddi: 1, all: 1 });
      expect(ddiPairCounts([1], ddi)).toEqual({ ddi: 0, all: 0 });
    });
  });

  describe(aggregate.name, () => {
    it('averages per-sample scores and pools DDI pairs over all predicted sets', () => {
      const ddi = new DdiPairs(4, [[0, 1]]);
      const sut = perSampleScores({
        labelCount: 4,
        probs: Float32Array.from([0.9, 0.8, 0.7, 0.1, /**/ 0.9, 0.8, 0.1, 0.2]),
        targets: [[0, 1], [2]],
        predicted: [[0, 1, 2], [0, 1]],
        visitCount: [1, 3],
      }, ddi);
      const m = aggregate(sut, [0, 1]);
      // sample 0: J = 2/3, F1 = 2·(2/3·1)/(5/3) = 0.8, AP = 1; sample 1: J = 0, F1 = 0, AP = 1/4
      expect(m.jaccard).toBeCloseTo((2 / 3 + 0) / 2, 12);
      expect(m.f1).toBeCloseTo(0.8 / 2, 12);
      expect(m.prauc).toBeCloseTo((1 + 0.25) / 2, 6);
      // pairs: {0,1,2} → 3 pairs, 1 DDI; {0,1} → 1 pair, 1 DDI → 2/4
      expect(m.ddi_rate).toBeCloseTo(0.5, 12);
      expect(m.avg_med).toBeCloseTo(2.5, 12);
      expect(aggregate(sut, [])).toEqual({ jaccard: 0, f1: 0, prauc: 0, ddi_rate: 0, avg_med: 0 });
    });
  });

  describe(subsampleWithoutReplacement.name, () => {
    it('draws floor(0.8·n) distinct items, reproducibly for a seed', () => {
      const items = Array.from({ length: 11 }, (_, i) => i);
      const a = subsampleWithoutReplacement(items, 0.8, mulberry32(42));
      const b = subsampleWithoutReplacement(items, 0.8, mulberry32(42));
      const c = subsampleWithoutReplacement(items, 0.8, mulberry32(7));
      expect(a).toHaveLength(8);
      expect(new Set(a).size).toBe(8);
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      expect(items).toEqual(Array.from({ length: 11 }, (_, i) => i));
    });
  });

  describe(roundedMetrics.name, () => {
    it('gives mean ± population std over the rounds; identical samples give std 0', () => {
      const ddi = new DdiPairs(2, []);
      const same = perSampleScores({
        labelCount: 2, probs: new Float32Array(20).fill(0.5), targets: Array(10).fill([0]),
        predicted: Array(10).fill([0]), visitCount: Array(10).fill(2),
      }, ddi);
      const r = roundedMetrics(same, [...Array(10).keys()], { rounds: 10, fraction: 0.8, seed: 1 });
      expect(r.mean.jaccard).toBe(1);
      expect(r.std.jaccard).toBe(0);
      expect(r.mean.prauc).toBeCloseTo(0.5, 12);
      expect(r.n).toBe(10);
    });

    it('varies across rounds when samples differ, and its mean stays near the full-set value', () => {
      const ddi = new DdiPairs(2, []);
      const n = 50;
      const p = perSampleScores({
        labelCount: 2, probs: new Float32Array(2 * n).fill(0.5), targets: Array(n).fill([0]),
        predicted: Array.from({ length: n }, (_, i) => (i % 2 ? [0] : [1])), visitCount: Array(n).fill(1),
      }, ddi);
      const r = roundedMetrics(p, [...Array(n).keys()], { rounds: 10, fraction: 0.8, seed: 42 });
      expect(r.std.jaccard).toBeGreaterThan(0);
      expect(r.all.jaccard).toBeCloseTo(0.5, 12);
      expect(Math.abs(r.mean.jaccard - 0.5)).toBeLessThan(0.1);
    });
  });

  describe(evaluateScored.name, () => {
    it('splits single-visit (visitCount 1) from multi-visit samples', () => {
      const sut = evaluateScored({
        labelCount: 2, probs: Float32Array.from([0.9, 0.1, 0.1, 0.9, 0.9, 0.1]),
        targets: [[0], [0], [0]], predicted: [[0], [1], [0]], visitCount: [1, 2, 5],
      }, new DdiPairs(2, []), { rounds: 3, fraction: 1, seed: 1 });
      expect(sut.groups.single.n).toBe(1);
      expect(sut.groups.single.all.jaccard).toBe(1);
      expect(sut.groups.multi.n).toBe(2);
      expect(sut.groups.multi.all.jaccard).toBeCloseTo(0.5, 12);
      expect(sut.overall.mean.jaccard).toBeCloseTo(2 / 3, 12);
    });
  });

  describe(thresholdPredictions.name, () => {
    it('keeps labels strictly above the threshold', () => {
      expect(thresholdPredictions(Float32Array.from([0.3, 0.31, 0.9, 0.1]), 2, 0.3)).toEqual([[1], [0]]);
    });
  });

  describe(topKPredictions.name, () => {
    it('keeps the k best labels, ties to the lower index', () => {
      expect(topKPredictions(Float32Array.from([0.2, 0.5, 0.5, 0.1]), 4, 2)).toEqual([[1, 2]]);
      expect(topKPredictions(Float32Array.from([0.2, 0.5]), 2, 5)).toEqual([[0, 1]]);
    });
  });
});

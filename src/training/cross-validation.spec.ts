import { assignFolds, foldSamples, pairedBootstrap, reliability } from './cross-validation';
import type { DatasetSample } from './dataset.schema';
import { microPrCurve } from './plots';

const ids = Array.from({ length: 23 }, (_, i) => `p${i}`);

function sample(patientId: string, visit: number, perVisit = true): DatasetSample {
  return {
    id: perVisit ? `${patientId}#${visit}` : patientId, patientId, split: 'train', visitCount: visit + 1, prompt: 'x', labels: [0], labelCodes: ['A01'],
    student: { diag: [[3]], proc: [[]], med: [[]], profile: [] },
  } as unknown as DatasetSample;
}

describe('assignFolds', () => {
  it('makes every patient a test patient exactly once, with disjoint train / val / test in each fold', () => {
    const folds = assignFolds(ids, 5, 42);
    expect(folds).toHaveLength(5);
    expect(folds.flatMap((f) => f.test).sort()).toEqual([...ids].sort());
    for (const f of folds) {
      const all = [...f.train, ...f.val, ...f.test];
      expect(new Set(all).size).toBe(ids.length);
      expect(f.val.length).toBe(Math.round((ids.length - f.test.length) / 8));
    }
  });

  it('is deterministic for a seed and nests the train subsets of a learning curve', () => {
    expect(assignFolds(ids, 4, 7)).toEqual(assignFolds(ids, 4, 7));
    expect(assignFolds(ids, 4, 7)).not.toEqual(assignFolds(ids, 4, 8));
    const half = assignFolds(ids, 4, 7, 0.5);
    const full = assignFolds(ids, 4, 7, 1);
    half.forEach((f, k) => {
      expect(f.test).toEqual(full[k].test);
      expect(f.val).toEqual(full[k].val);
      expect(f.train.every((p) => full[k].train.includes(p))).toBe(true);
      expect(f.train.length).toBe(Math.ceil(full[k].train.length / 2));
    });
  });

  it('refuses fewer than 2 folds or too few patients', () => {
    expect(() => assignFolds(ids, 1, 1)).toThrow(RangeError);
    expect(() => assignFolds(ids.slice(0, 5), 5, 1)).toThrow(/too few/);
  });
});

describe('foldSamples', () => {
  it('keeps every visit of train patients and only the last visit of val and test patients', () => {
    const samples = ['a', 'b', 'c'].flatMap((p) => [0, 1, 2].map((v) => sample(p, v)));
    const out = foldSamples(samples, { fold: 0, train: ['a'], val: ['b'], test: ['c'] });
    expect(out.map((s) => `${s.id}:${s.split}`)).toEqual(['a#0:train', 'a#1:train', 'a#2:train', 'b#2:val', 'c#2:test']);
  });
});

describe('pairedBootstrap', () => {
  it('gives the mean difference and an interval that contains it, narrowing with more patients', () => {
    const diffs = Array.from({ length: 50 }, (_, i) => (i % 5) / 10 - 0.1);
    const ci = pairedBootstrap(diffs, 1000, 1);
    expect(ci.mean).toBeCloseTo(0.1, 10);
    expect(ci.low).toBeLessThan(ci.mean);
    expect(ci.high).toBeGreaterThan(ci.mean);
    const wide = pairedBootstrap(diffs.slice(0, 10), 1000, 1);
    expect(wide.high - wide.low).toBeGreaterThan(ci.high - ci.low);
    const constant = pairedBootstrap(Array(20).fill(-0.05), 200, 3);
    for (const v of [constant.mean, constant.low, constant.high]) expect(v).toBeCloseTo(-0.05, 12);
  });
});

describe('reliability', () => {
  it('is 0 for probabilities that match the observed frequencies and |p − rate| otherwise', () => {
    // 10 patients, 1 label: p = 0.3 for all, 3 positives → calibrated.
    const probs = new Float32Array(10).fill(0.3);
    const targets = Array.from({ length: 10 }, (_, i) => (i < 3 ? [0] : []));
    expect(reliability(probs, targets, 1).ece).toBeCloseTo(0, 6);
    const over = reliability(new Float32Array(10).fill(0.9), targets, 1);
    expect(over.ece).toBeCloseTo(0.6, 6);
    expect(over.bins[8]).toMatchObject({ count: 10, positiveRate: 0.3 });
  });
});

describe('microPrCurve', () => {
  it('ends at recall 1 and gives AP 1 for a perfect ranking', () => {
    const c = microPrCurve('m', { labelCount: 2, probs: new Float32Array([0.9, 0.1, 0.2, 0.8]), targets: [[0], [1]] });
    expect(c.averagePrecision).toBeCloseTo(1, 10);
    expect(c.recall[c.recall.length - 1]).toBe(1);
  });
});

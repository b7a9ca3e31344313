import { DdiIndex } from './ddi-index';
import { recommend } from './recommend';

describe(recommend.name, () => {
  const base = {
    labels: ['A02B', 'B01A', 'C07A', 'N02B'],
    probs: [0.9, 0.6, 0.1, 0.45],
    threshold: 0.4,
    orderedAtc3: [] as string[],
    draftedAtc3: [] as string[],
    ddi: new DdiIndex([['B01A', 'N02B'], ['C07A', 'A02B']]),
    className: (c: string) => ({ A02B: 'drugs for peptic ulcer' } as Record<string, string>)[c],
    priorVisits: 2,
  };

  it('ranks classes above the threshold, most likely first', () => {
    const sut = recommend(base);
    expect(sut.suggested.map((c) => c.atc3)).toEqual(['A02B', 'B01A', 'N02B']);
    expect(sut.suggested[0]).toEqual({ atc3: 'A02B', name: 'drugs for peptic ulcer', probability: 0.9 });
  });

  it('uses the evaluation rule p > threshold in float32, so a probability at the threshold is not recommended', () => {
    const sut = recommend({ ...base, labels: ['A02B', 'B01A'], probs: Float32Array.from([0.3, 0.31]), threshold: 0.3, draftedAtc3: ['A02B'] });
    expect(sut.likely.map((c) => c.atc3)).toEqual(['B01A']);
    expect(sut.unlikelyDrafted.map((c) => c.atc3)).toEqual(['A02B']);
  });

  it('does not suggest ordered or drafted classes, flags unlikely and unknown drafts, finds interacting pairs', () => {
    const sut = recommend({ ...base, orderedAtc3: ['A02B'], draftedAtc3: ['N02B', 'C07A', 'Z99Z'] });
    expect(sut.suggested.map((c) => c.atc3)).toEqual(['B01A']);
    expect(sut.unlikelyDrafted.map((c) => c.atc3)).toEqual(['C07A']);
    expect(sut.unknownDrafted.map((c) => c.atc3)).toEqual(['Z99Z']);
    expect(sut.interactions.map((i) => [i.a.atc3, i.b.atc3, i.aFrom, i.bFrom])).toEqual([['N02B', 'B01A', 'drafted', 'recommended']]);
  });
});

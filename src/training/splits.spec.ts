import { mulberry32 } from '../common/random';
import { comparePatientIds, splitPatients } from './splits';

describe(splitPatients.name, () => {
  const sut = splitPatients;
  const ids = Array.from({ length: 25 }, (_, i) => String(100 + i));

  it('cuts sorted ids 8:1:1 in order in sequential mode (LEADER parity)', () => {
    const split = sut([...ids].reverse(), { seed: 1, strategy: 'sequential' });
    expect(split.train).toEqual(ids.slice(0, 20));
    expect(split.val).toEqual(ids.slice(20, 22));
    expect(split.test).toEqual(ids.slice(22));
  });

  it('shuffles deterministically by seed, independent of input order, and keeps every patient once', () => {
    const a = sut(ids, { seed: 42, strategy: 'shuffle' });
    const b = sut([...ids].reverse(), { seed: 42, strategy: 'shuffle' });
    const c = sut(ids, { seed: 7, strategy: 'shuffle' });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect([a.train.length, a.val.length, a.test.length]).toEqual([20, 2, 3]);
    expect([...a.train, ...a.val, ...a.test].sort()).toEqual(ids);
    expect(a.train).not.toEqual(ids.slice(0, 20));
  });

  it('pins the seed-42 split so a PRNG change is caught', () => {
    expect(sut(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], { seed: 42, strategy: 'shuffle' })).toEqual({ train: ['a', 'b', 'c', 'd', 'f', 'h', 'i', 'j'], val: ['e'], test: ['g'] });
  });

  it.each([
    [0, [0, 0, 0]],
    [1, [0, 0, 1]],
    [2, [1, 0, 1]],
    [10, [8, 1, 1]],
  ])('splits %i patients as %p', (n, sizes) => {
    const split = sut(Array.from({ length: n }, (_, i) => `p${i}`), { seed: 42, strategy: 'shuffle' });
    expect([split.train.length, split.val.length, split.test.length]).toEqual(sizes);
  });

  it('rejects an unknown strategy or a non-integer seed', () => {
    expect(() => sut(ids, { seed: 1, strategy: 'random' as 'shuffle' })).toThrow(/unknown split strategy/);
    expect(() => sut(ids, { seed: 1.5, strategy: 'shuffle' })).toThrow(/integer/);
  });
});

describe(comparePatientIds.name, () => {
  it('orders digit ids numerically and others by code point', () => {
    expect(['10', '9', '100', 'b', 'A', '10006'].sort(comparePatientIds)).toEqual(['9', '10', '100', '10006', 'A', 'b']);
  });
});

describe(mulberry32.name, () => {
  it('is reproducible and in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

import { buildStudentBatch, sizeOrder, studentSampleSize } from './student-batch';
import type { StudentSample } from './student-input.types';

describe(buildStudentBatch.name, () => {
  const sut = buildStudentBatch;
  const two: StudentSample = { diag: [[5, 6], [7]], proc: [[9], []], med: [[], [1, 2, 3]], profile: [1, 0, 2] };
  const one: StudentSample = { diag: [[8]], proc: [[]], med: [[]], profile: [0, 3, 0] };

  it('pads visits and sets to the batch maxima with 0, row-major, real visits first', () => {
    const batch = sut([two, one]);
    expect(batch.batchSize).toBe(2);
    expect(batch.visits).toBe(2);
    expect(batch.diag.dims).toEqual([2, 2, 2]);
    expect([...batch.diag.data].map(Number)).toEqual([5, 6, 7, 0, 8, 0, 0, 0]);
    expect(batch.proc.dims).toEqual([2, 2, 1]);
    expect([...batch.proc.data].map(Number)).toEqual([9, 0, 0, 0]);
    expect(batch.med.dims).toEqual([2, 2, 3]);
    expect([...batch.med.data].map(Number)).toEqual([0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0]);
    expect(batch.visitMask.dims).toEqual([2, 2]);
    expect([...batch.visitMask.data]).toEqual([1, 1, 1, 0]);
    expect(batch.profile.dims).toEqual([2, 3]);
    expect([...batch.profile.data].map(Number)).toEqual([1, 0, 2, 0, 3, 0]);
    expect(batch.diag.data).toBeInstanceOf(BigInt64Array);
    expect(batch.visitMask.data).toBeInstanceOf(Float32Array);
  });

  it('keeps every set dimension at least 1 when all sets are empty', () => {
    const batch = sut([one]);
    expect(batch.med.dims).toEqual([1, 1, 1]);
    expect(batch.proc.dims).toEqual([1, 1, 1]);
    expect([...batch.med.data].map(Number)).toEqual([0]);
  });

  it.each([
    ['an empty batch', [], /empty batch/],
    ['a sample without visits', [{ diag: [], proc: [], med: [], profile: [] }], /has no visit/],
    ['ragged visit lists', [{ ...one, proc: [] }], /1 diagnosis, 0 procedure/],
    ['profiles of different widths', [two, { ...one, profile: [1] }], /profile fields/],
    ['a negative id', [{ ...one, diag: [[-1]] }], /invalid id -1/],
  ])('rejects %s', (_what, samples, message) => {
    expect(() => sut(samples as StudentSample[])).toThrow(message);
  });
});

describe(sizeOrder.name, () => {
  const sample = (codes: number): StudentSample => ({ diag: [Array.from({ length: codes }, (_, i) => i + 1)], proc: [[]], med: [[]], profile: [0] });

  it('orders samples by code count, keeping the input order among equals', () => {
    const sut = sizeOrder([sample(5), sample(1), sample(3), sample(1)]);
    expect(sut).toEqual([1, 3, 2, 0]);
    expect(studentSampleSize(sample(4))).toBe(4);
  });
});

import { mkdtempSync, readFileSync, appendFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FeatureCacheWriter, indexPathFor, readTeacherFeatures, type CacheIdentity } from './feature-cache';

describe(FeatureCacheWriter.name, () => {
  let dir: string;
  let file: string;
  const identity: CacheIdentity = { backend: 'test', model: 'm', modelSha256: 'a'.repeat(64), pooling: 'last', promptMode: 'fixed', datasetVocabHash: 'v' };
  const vec = (x: number) => Float32Array.from([x, x + 0.5, -x]);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'feature-cache-'));
    file = path.join(dir, 'f.bin');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes float32 LE rows with an index that readers accept only when complete', async () => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b', 'c']);
    await sut.append(['a', 'b'], [vec(1), vec(2)], false);
    await sut.close();
    await expect(readTeacherFeatures(file)).rejects.toThrow(/incomplete \(2 rows\)/);
    const again = await FeatureCacheWriter.open(file, identity, ['a', 'b', 'c']);
    expect(again.rows).toBe(2);
    await again.append(['c'], [vec(3)], true);
    await again.close();
    const read = await readTeacherFeatures(file);
    expect(read.index).toMatchObject({ ids: ['a', 'b', 'c'], rows: 3, dim: 3, complete: true });
    expect(Array.from(read.matrix.subarray(3, 6))).toEqual([2, 2.5, -2]);
    expect(read.rowOf('c')).toBe(2);
    expect(readFileSync(file).readFloatLE(4)).toBe(1.5);
  });

  it('truncates a partial batch written after the last index update', async () => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await sut.append(['a'], [vec(1)], false);
    await sut.close();
    appendFileSync(file, Buffer.alloc(7, 0xff));
    const again = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await again.append(['b'], [vec(2)], true);
    await again.close();
    expect(readFileSync(file).length).toBe(2 * 3 * 4);
  });

  it.each([
    ['modelSha256', { modelSha256: 'b'.repeat(64) }, /computed with model m \(sha256 aaaaaaaaaaaa…\).*refusing to mix/],
    ['promptMode', { promptMode: 'faithful' }, /promptMode "fixed", this run uses "faithful"; refusing to mix/],
    ['backend', { backend: 'other' }, /backend "test"/],
  ])('refuses to resume with a different %s', async (_name, change, message) => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await sut.append(['a'], [vec(1)], false);
    await sut.close();
    await expect(FeatureCacheWriter.open(file, { ...identity, ...change }, ['a', 'b'])).rejects.toThrow(message);
  });

  it('refuses to resume when the sample order changed', async () => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await sut.append(['a'], [vec(1)], false);
    await sut.close();
    await expect(FeatureCacheWriter.open(file, identity, ['b', 'a'])).rejects.toThrow(/row 0 is sample "a" but this run's sample 0 is "b"/);
  });

  it('refuses a dimension change and a data file without an index', async () => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await sut.append(['a'], [vec(1)], false);
    await expect(sut.append(['b'], [Float32Array.from([1])], true)).rejects.toThrow(/dimension changed from 3 to 1/);
    await sut.close();
    rmSync(indexPathFor(file));
    await expect(FeatureCacheWriter.open(file, identity, ['a'])).rejects.toThrow(/has no .*index\.json/);
  });

  it('rejects a damaged data file shorter than its index', async () => {
    const sut = await FeatureCacheWriter.open(file, identity, ['a', 'b']);
    await sut.append(['a', 'b'], [vec(1), vec(2)], true);
    await sut.close();
    writeFileSync(file, Buffer.alloc(5));
    await expect(readTeacherFeatures(file)).rejects.toThrow(/5 bytes/);
    await expect(FeatureCacheWriter.open(file, identity, ['a', 'b'])).rejects.toThrow(/damaged/);
  });
});

/**
 * The teacher feature cache, read by the PyTorch trainer (`--teacher-features`), the teacher head
 * and `leader evaluate`:
 *
 *   FILE              float32 little-endian, row-major [rows, dim], no header
 *   FILE.index.json   TeacherFeatureIndex: row i of FILE is sample ids[i]
 *
 * Rows are appended in dataset sample order, one batch at a time: the batch is written and
 * fsync'ed, then the index is replaced atomically with the new row count. An interrupted run
 * therefore leaves at most a partial trailing batch past `rows`, which a resumed run truncates.
 * `complete` turns true only when every requested sample has a row; readers refuse anything else.
 */
import { promises as fs, existsSync } from 'node:fs';
import { CliError } from '../common/cli-error';
import { writeFileAtomic } from '../common/atomic-write';

export const TEACHER_FEATURES_FORMAT = 'leader-teacher-features';
export const TEACHER_FEATURES_VERSION = 1;

export interface TeacherFeatureIndex extends CacheIdentity {
  format: typeof TEACHER_FEATURES_FORMAT;
  version: typeof TEACHER_FEATURES_VERSION;
  dtype: 'float32-le';
  /** Sample ids of the rows written so far, in row order (ids.length === rows). */
  ids: string[];
  rows: number;
  /** 0 until the first batch is written. */
  dim: number;
  complete: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CacheIdentity {
  backend: string;
  model: string;
  modelSha256: string;
  pooling: string;
  promptMode: string;
  datasetVocabHash: string;
}

export const indexPathFor = (file: string): string => `${file}.index.json`;

async function readIndex(file: string): Promise<TeacherFeatureIndex | null> {
  const indexPath = indexPathFor(file);
  let text: string;
  try {
    text = await fs.readFile(indexPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let index: TeacherFeatureIndex;
  try {
    index = JSON.parse(text) as TeacherFeatureIndex;
  } catch {
    throw new CliError(`${indexPath}: not valid JSON`);
  }
  if (index.format !== TEACHER_FEATURES_FORMAT || index.version !== TEACHER_FEATURES_VERSION) {
    throw new CliError(`${indexPath}: not a ${TEACHER_FEATURES_FORMAT} v${TEACHER_FEATURES_VERSION} index`);
  }
  if (!Array.isArray(index.ids) || index.ids.length !== index.rows) throw new CliError(`${indexPath}: ids (${index.ids?.length}) and rows (${index.rows}) disagree`);
  return index;
}

/** Appends feature rows to FILE and keeps FILE.index.json in step; see the file comment. */
export class FeatureCacheWriter {
  private constructor(
    readonly file: string,
    private index: TeacherFeatureIndex,
    private readonly handle: fs.FileHandle,
  ) {}

  /**
   * Open FILE for the samples `plannedIds` (in order). A previous run's rows are kept when they were
   * computed with the same identity and are a prefix of `plannedIds`; anything else is refused.
   */
  static async open(file: string, identity: CacheIdentity, plannedIds: string[]): Promise<FeatureCacheWriter> {
    const now = new Date().toISOString();
    let index = await readIndex(file);
    if (index) {
      const mismatch = (['backend', 'modelSha256', 'pooling', 'promptMode', 'datasetVocabHash'] as const).find((k) => index![k] !== identity[k]);
      if (mismatch) {
        const what = mismatch === 'modelSha256' ? `model ${index.model} (sha256 ${index.modelSha256.slice(0, 12)}…), this run uses ${identity.model} (sha256 ${identity.modelSha256.slice(0, 12)}…)` : `${mismatch} "${index[mismatch]}", this run uses "${identity[mismatch]}"`;
        throw new CliError(`${file} was computed with ${what}; refusing to mix features (delete it or choose another --out)`);
      }
      const firstDiff = index.ids.findIndex((id, i) => plannedIds[i] !== id);
      if (firstDiff >= 0) throw new CliError(`${file}: row ${firstDiff} is sample "${index.ids[firstDiff]}" but this run's sample ${firstDiff} is "${plannedIds[firstDiff] ?? '(none)'}"; the dataset or --splits changed, refusing to mix features`);
      const size = existsSync(file) ? (await fs.stat(file)).size : 0;
      const expected = index.rows * index.dim * 4;
      if (size < expected) throw new CliError(`${file} has ${size} bytes but its index lists ${index.rows} rows of dim ${index.dim} (${expected} bytes); the file is damaged, delete it and rerun`);
      index = { ...index, complete: index.complete && index.rows === plannedIds.length, updatedAt: now };
      const handle = await fs.open(file, 'r+');
      await handle.truncate(expected); // drop a partial batch written after the last index update
      await handle.sync();
      return new FeatureCacheWriter(file, index, handle);
    }
    if (existsSync(file)) throw new CliError(`${file} exists but has no ${indexPathFor(file)}; it is not a feature cache this command can resume (delete it or choose another --out)`);
    index = { format: TEACHER_FEATURES_FORMAT, version: TEACHER_FEATURES_VERSION, dtype: 'float32-le', ids: [], rows: 0, dim: 0, ...identity, complete: plannedIds.length === 0, createdAt: now, updatedAt: now };
    // The index exists before the data file, so a data file without an index is never ours.
    await writeFileAtomic(indexPathFor(file), JSON.stringify(index));
    const handle = await fs.open(file, 'w+');
    return new FeatureCacheWriter(file, index, handle);
  }

  get rows(): number { return this.index.rows; }
  get dim(): number { return this.index.dim; }
  get complete(): boolean { return this.index.complete; }

  /** Append one batch (ids and their vectors, same order) and commit it to the index. */
  async append(ids: string[], vectors: Float32Array[], complete: boolean): Promise<void> {
    if (ids.length !== vectors.length) throw new Error(`append: ${ids.length} ids but ${vectors.length} vectors`);
    if (ids.length === 0 && !complete) return;
    const dim = this.index.dim || vectors[0]?.length || 0;
    const bytes = Buffer.alloc(ids.length * dim * 4);
    vectors.forEach((v, r) => {
      if (v.length !== dim) throw new CliError(`${this.file}: feature dimension changed from ${dim} to ${v.length} at sample "${ids[r]}"`);
      for (let c = 0; c < dim; c++) {
        if (!Number.isFinite(v[c])) throw new CliError(`${this.file}: non-finite feature for sample "${ids[r]}" (column ${c})`);
        bytes.writeFloatLE(v[c], (r * dim + c) * 4);
      }
    });
    await this.handle.write(bytes, 0, bytes.length, this.index.rows * dim * 4);
    await this.handle.sync();
    this.index = { ...this.index, dim, ids: [...this.index.ids, ...ids], rows: this.index.rows + ids.length, complete, updatedAt: new Date().toISOString() };
    await writeFileAtomic(indexPathFor(this.file), JSON.stringify(this.index));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

export interface TeacherFeatures {
  index: TeacherFeatureIndex;
  /** [rows, dim] row-major. */
  matrix: Float32Array;
  rowOf(id: string): number | undefined;
}

/** Read a complete cache; refuses incomplete or size-inconsistent files. */
export async function readTeacherFeatures(file: string): Promise<TeacherFeatures> {
  const index = await readIndex(file);
  if (!index) throw new CliError(`${indexPathFor(file)} not found: ${file} is not a teacher feature cache (run \`leader teacher\`)`);
  if (!index.complete) throw new CliError(`${file} is incomplete (${index.rows} rows); rerun \`leader teacher\` with the same options to finish it`);
  const buf = await fs.readFile(file);
  if (buf.length !== index.rows * index.dim * 4) throw new CliError(`${file} has ${buf.length} bytes, its index says ${index.rows}×${index.dim} float32 (${index.rows * index.dim * 4} bytes)`);
  const matrix = new Float32Array(index.rows * index.dim);
  for (let i = 0; i < matrix.length; i++) matrix[i] = buf.readFloatLE(i * 4);
  const rows = new Map(index.ids.map((id, i) => [id, i]));
  return { index, matrix, rowOf: (id) => rows.get(id) };
}

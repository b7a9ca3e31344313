/**
 * `leader teacher` end to end through the built CLI (node-llama-cpp is ESM-only and stays out of
 * jest's module graph): a generated random-weight llama GGUF run by the real llama.cpp, and the
 * openai backend against a real HTTP server on 127.0.0.1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeTinyGguf } from '../support/tiny-gguf';
import { writeTinyTeacherDataset } from '../support/tiny-teacher-dataset';
import { fakeVector, startFakeEmbeddingsServer } from '../support/fake-embeddings.server';
import { repoRoot, runLeader } from '../support/leader-cli';

const GOLDEN_DATASET = path.join(repoRoot, 'test', 'golden', 'dataset');
/** Small batches, so even the 5-sample golden dataset spans several batches (resume, mid-run errors). */
const BATCH = 2;

/** The golden dataset when it exists (the dataset engineer's fixture), else a synthetic one. */
function teacherDataset(dir: string): string {
  if (existsSync(path.join(GOLDEN_DATASET, 'manifest.json'))) return GOLDEN_DATASET;
  return writeTinyTeacherDataset(path.join(dir, 'dataset')).dir;
}

function sampleIds(datasetDir: string): string[] {
  return readFileSync(path.join(datasetDir, 'samples.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { id: string }).id);
}

function readRows(file: string, dim: number): Float32Array[] {
  const buf = readFileSync(file);
  const rows: Float32Array[] = [];
  for (let r = 0; r < buf.length / 4 / dim; r++) rows.push(Float32Array.from({ length: dim }, (_, c) => buf.readFloatLE((r * dim + c) * 4)));
  return rows;
}

const index = (file: string) => JSON.parse(readFileSync(`${file}.index.json`, 'utf8')) as Record<string, unknown> & { ids: string[]; dim: number; rows: number; complete: boolean };

describe('leader teacher', () => {
  let dir: string;
  let dataset: string;
  let ids: string[];
  let gguf: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'teacher-e2e-'));
    dataset = teacherDataset(dir);
    ids = sampleIds(dataset);
    gguf = writeTinyGguf(path.join(dir, 'tiny.gguf'), { seed: 11, layers: 2, dim: 64, contextLength: 2048 }).path;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const llama = (out: string, model = gguf, extra: string[] = []) =>
    ['teacher', '--dataset', dataset, '--out', out, '--backend', 'llama-cpp', '--model', model, '--threads', '1', '--batch-size', String(BATCH), ...extra];

  describe('llama-cpp backend on a generated GGUF', () => {
    let first: string;
    beforeAll(async () => {
      first = path.join(dir, 'a.f32');
      const run = await runLeader(llama(first));
      expect(run.stderr).toMatch(/wrote .*a\.f32 \(float32 \[\d+, 64\]\)/);
      expect(run.code).toBe(0);
    });

    it('writes one 64-d row per sample in dataset order, with a complete index', () => {
      const idx = index(first);
      expect(idx).toMatchObject({ ids, rows: ids.length, dim: 64, backend: 'llama-cpp', model: gguf, complete: true, promptMode: expect.any(String) });
      expect(idx.modelSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(readFileSync(first).length).toBe(ids.length * 64 * 4);
    });

    it('gives the last-token hidden state after the final RMSNorm: finite, unit RMS, different per prompt', () => {
      const rows = readRows(first, 64);
      for (const v of rows) {
        const rms = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
        // output_norm weights of the tiny model are 1 ± 0.05, so a normed hidden state has RMS ≈ 1.
        expect(rms).toBeGreaterThan(0.9);
        expect(rms).toBeLessThan(1.1);
      }
      const distinct = new Set(rows.map((v) => Array.from(v.subarray(0, 4)).join(',')));
      expect(distinct.size).toBeGreaterThan(rows.length / 2);
    });

    it('is deterministic: a second run gives the same bytes', async () => {
      const second = path.join(dir, 'b.f32');
      expect((await runLeader(llama(second))).code).toBe(0);
      expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    });

    it('resumes an interrupted run and ends with the same file as an uninterrupted run', async () => {
      const out = path.join(dir, 'resume.f32');
      const stopped = await runLeader([...llama(out), '--stop-after-batches', '1']);
      expect(stopped.code).toBe(3);
      expect(stopped.stderr).toMatch(new RegExp(`stopped after 1 batch\\(es\\).*${BATCH}/${ids.length} rows kept`));
      expect(index(out)).toMatchObject({ rows: BATCH, complete: false });
      appendFileSync(out, Buffer.alloc(100, 0x7f)); // a partial batch written after the index update
      const resumed = await runLeader(llama(out));
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${BATCH}/${ids.length} samples already computed`));
      expect(readFileSync(out).equals(readFileSync(first))).toBe(true);
      expect(index(out)).toMatchObject({ ids, complete: true });
    });

    it('refuses to continue a cache with a different model', async () => {
      const out = path.join(dir, 'mixed.f32');
      expect((await runLeader([...llama(out), '--stop-after-batches', '1'])).code).toBe(3);
      const before = readFileSync(out);
      const other = writeTinyGguf(path.join(dir, 'other.gguf'), { seed: 12, contextLength: 2048 }).path;
      const run = await runLeader(llama(out, other));
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/mixed\.f32 was computed with model .*tiny\.gguf .*refusing to mix features/);
      expect(readFileSync(out).equals(before)).toBe(true);
    });

    it('refuses a GGUF that declares mean pooling (not LEADER\'s last-token feature)', async () => {
      const mean = writeTinyGguf(path.join(dir, 'mean.gguf'), { seed: 11, poolingType: 1 }).path;
      const run = await runLeader(llama(path.join(dir, 'mean.f32'), mean));
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/pooling_type=1 \(mean\)/);
    });

    it('treats pooling "last" in the GGUF exactly like a decoder without pooling metadata', async () => {
      const last = writeTinyGguf(path.join(dir, 'last.gguf'), { seed: 11, contextLength: 2048, poolingType: 3 }).path;
      const out = path.join(dir, 'last.f32');
      expect((await runLeader(llama(out, last))).code).toBe(0);
      expect(readFileSync(out).equals(readFileSync(first))).toBe(true);
    });
  });

  describe('openai backend against a local /v1/embeddings server', () => {
    it('survives a 429 and a 500, and writes the served vectors in dataset order', async () => {
      const server = await startFakeEmbeddingsServer({ dim: 24, servedModel: 'ft-teacher', script: (n) => (n === 2 ? { status: 429, retryAfter: '0' } : n === 3 ? { status: 500 } : undefined) });
      try {
        const out = path.join(dir, 'openai.f32');
        const run = await runLeader(['teacher', '--dataset', dataset, '--out', out, '--backend', 'openai', '--url', server.url, '--model', 'ft-teacher',
          '--api-key-env', 'TEACHER_KEY', '--concurrency', '2', '--inputs-per-request', '5', '--batch-size', '10'], { TEACHER_KEY: 'sk-local' });
        expect(run.stderr).toMatch(/429, retry 1/);
        expect(run.stderr).toMatch(/500, retry/);
        expect(run.code).toBe(0);
        expect(server.requests.every((r) => r.authorization === 'Bearer sk-local')).toBe(true);
        const prompts = readFileSync(path.join(dataset, 'samples.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { prompt: string }).prompt);
        const rows = readRows(out, 24);
        expect(rows.map((r) => Array.from(r))).toEqual(prompts.map((p) => Array.from(Float32Array.from(fakeVector(p, 24)))));
        expect(index(out)).toMatchObject({ ids, dim: 24, backend: 'openai', model: 'ft-teacher', complete: true });
      } finally {
        await server.close();
      }
    });

    it('stops with a clear error when the dimension changes mid-run, keeping the committed rows', async () => {
      const server = await startFakeEmbeddingsServer({ dim: 24, script: (n) => (n >= 4 ? { dim: 16 } : undefined) });
      try {
        const out = path.join(dir, 'dimchange.f32');
        const run = await runLeader(['teacher', '--dataset', dataset, '--out', out, '--backend', 'openai', '--url', server.url, '--model', 'm',
          '--concurrency', '1', '--inputs-per-request', '1', '--batch-size', String(BATCH)]);
        // Request 1 is the probe, 2-3 the first batch, 4 (first of batch 2) changes dimension.
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/embedding dimension changed from 24 to 16; refusing to mix features/);
        expect(index(out)).toMatchObject({ rows: BATCH, complete: false });
      } finally {
        await server.close();
      }
    });
  });
});

import { sha256File } from '../../src/common/sha256';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, runLeader, type CliRun } from '../support/leader-cli';
import { SHARED_DATA } from '../support/shared-data';

/**
 * The whole training path on real data, through the built CLI: MIMIC-IV demo → mimic-to-fhir →
 * dataset → `leader train` (2 epochs, PyTorch) → `leader evaluate --json` (onnxruntime-node), and the
 * bad inputs that must fail with one line, a non-zero exit and nothing overwritten.
 */
const env = { LEADER_FHIR_MAPPINGS: process.env.LEADER_FHIR_MAPPINGS ?? path.join(repoRoot, 'fhir-mappings') };
const METRIC_KEYS = ['jaccard', 'f1', 'prauc', 'ddi_rate', 'avg_med'];

function ok(run: CliRun, what: string): CliRun {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return run;
}

/** A failed command prints exactly one `leader: …` line on stderr. */
function expectOneLineFailure(run: CliRun, pattern: RegExp): void {
  expect(run.code).not.toBe(0);
  const lines = run.stderr.trim().split('\n').filter((l) => l.startsWith('leader: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

async function folderDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir)).sort()) {
    out[f] = await sha256File(path.join(dir, f));
  }
  return out;
}

function expectMetrics(m: Record<string, number>, labels: number): void {
  expect(Object.keys(m).sort()).toEqual([...METRIC_KEYS].sort());
  for (const k of ['jaccard', 'f1', 'prauc', 'ddi_rate']) {
    expect(typeof m[k]).toBe('number');
    expect(m[k]).toBeGreaterThanOrEqual(0);
    expect(m[k]).toBeLessThanOrEqual(1);
  }
  expect(m.avg_med).toBeGreaterThanOrEqual(0);
  expect(m.avg_med).toBeLessThanOrEqual(labels);
}

describe('leader train + leader evaluate (e2e, MIMIC-IV demo)', () => {
  let tmp: string;
  let dataset: string;
  let model: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-train-e2e-'));
    dataset = path.join(tmp, 'dataset');
    model = path.join(tmp, 'model');
    ok(await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', path.join(tmp, 'fhir'), '--quiet'], env), 'mimic-to-fhir');
    ok(await runLeader(['dataset', '--fhir', path.join(tmp, 'fhir'), '--out', dataset, '--seed', '42', '--quiet'], env), 'dataset');
    const train = ok(await runLeader(['train', '--dataset', dataset, '--out', model, '--epochs', '2', '--threads', '2'], env, 300_000), 'train');
    expect(train.stderr).toMatch(/epoch 2\/2: loss [\d.]+, val PRAUC [\d.]+/);
    expect(train.stderr).toContain(`wrote ${model}/`);
  }, 400_000);

  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('trains a model folder with ONNX, manifest, vocab, DDI and parity files', async () => {
    const files = await fs.readdir(model);
    for (const f of ['model.onnx', 'manifest.json', 'vocab.json', 'ddi.json', 'parity.json']) expect(files).toContain(f);
    const manifest = JSON.parse(await fs.readFile(path.join(model, 'manifest.json'), 'utf8'));
    const dsManifest = JSON.parse(await fs.readFile(path.join(dataset, 'manifest.json'), 'utf8'));
    expect(manifest.vocabHash).toBe(dsManifest.vocabHash);
    expect(manifest.training.epochs).toBe(2);
  });

  it('evaluates through onnxruntime-node: metrics, groups and the three baselines as JSON', async () => {
    const run = ok(await runLeader(['evaluate', '--model', model, '--dataset', dataset, '--json'], env), 'evaluate');
    const r = JSON.parse(run.stdout);
    const manifest = JSON.parse(await fs.readFile(path.join(model, 'manifest.json'), 'utf8'));
    const labels = manifest.labels.length;
    expect(r.split).toBe('test');
    expect(r.n).toBe(JSON.parse(await fs.readFile(path.join(dataset, 'manifest.json'), 'utf8')).counts.test);
    expectMetrics(r.metrics, labels);
    expectMetrics(r.metrics_std, labels);
    expect(Object.keys(r.baselines).sort()).toEqual(['co-occurrence', 'logistic-regression', 'most-frequent-k']);
    for (const m of Object.values(r.baselines)) expectMetrics(m as Record<string, number>, labels);
    expect(r.groups.single.n + r.groups.multi.n).toBe(r.n);
    expect(r.rounds).toEqual({ rounds: 10, fraction: 0.8, seed: 42 });
    // The same test split scored by PyTorch in the trainer (full split, same threshold) agrees with
    // onnxruntime-node + the TypeScript metrics.
    for (const k of METRIC_KEYS) expect(r.metrics_all[k]).toBeCloseTo(manifest.metrics.student[k], 5);
  });

  it('prints a readable table without --json', async () => {
    const run = ok(await runLeader(['evaluate', '--model', model, '--dataset', dataset, '--rounds', '3'], env), 'evaluate');
    expect(run.stdout).toMatch(/Jaccard +F1 +PRAUC +DDI +#Med/);
    expect(run.stdout).toMatch(/most-frequent-k \(top-\d+\)/);
    expect(run.stdout).toMatch(/logistic-regression \(val-chosen p > [\d.]+\)/);
    expect(run.stdout).toMatch(/single-visit/);
    expect(run.stdout).toMatch(/student PRAUC [\d.]+ is (at least|BELOW) the most-frequent baseline's [\d.]+/);
  });

  it('refuses a dataset built with another vocabulary', async () => {
    const other = path.join(tmp, 'dataset-seed7');
    ok(await runLeader(['dataset', '--fhir', path.join(tmp, 'fhir'), '--out', other, '--seed', '7', '--quiet'], env), 'dataset --seed 7');
    const run = await runLeader(['evaluate', '--model', model, '--dataset', other, '--json'], env);
    expectOneLineFailure(run, /^leader: vocabulary mismatch: model .*model trained on vocab [0-9a-f]{16}, dataset .*dataset-seed7 has [0-9a-f]{16}$/);
    expect(run.stdout).toBe('');
  });

  it('refuses a corrupt model.onnx and leaves the folder as it was', async () => {
    const corrupt = path.join(tmp, 'model-corrupt');
    await fs.cp(model, corrupt, { recursive: true });
    const onnx = path.join(corrupt, 'model.onnx');
    const bytes = await fs.readFile(onnx);
    for (let i = 1000; i < 1064; i++) bytes[i] ^= 0x5a;
    await fs.writeFile(onnx, bytes);
    const before = await folderDigest(corrupt);
    const run = await runLeader(['evaluate', '--model', corrupt, '--dataset', dataset, '--record-metrics'], env);
    expectOneLineFailure(run, /model\.onnx: sha256 .* does not match manifest onnxSha256/);
    expect(await folderDigest(corrupt)).toEqual(before);
  });

  it('refuses a dataset of another schema version without touching the existing model', async () => {
    const v2 = path.join(tmp, 'dataset-v2');
    await fs.cp(dataset, v2, { recursive: true });
    const manifestFile = path.join(v2, 'manifest.json');
    const m = JSON.parse(await fs.readFile(manifestFile, 'utf8'));
    m.schemaVersion = 2;
    await fs.writeFile(manifestFile, JSON.stringify(m));
    const before = await folderDigest(model);
    const train = await runLeader(['train', '--dataset', v2, '--out', model, '--epochs', '1'], env);
    expectOneLineFailure(train, /^leader: train: dataset .*dataset-v2: schemaVersion 2, this trainer reads 1$/);
    const evaluate = await runLeader(['evaluate', '--model', model, '--dataset', v2], env);
    expectOneLineFailure(evaluate, /manifest\.json.*schemaVersion/);
    expect(await folderDigest(model)).toEqual(before);
    expect((await fs.readdir(tmp)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

/**
 * Distillation end to end on a small dataset: teacher features (llama-cpp on a generated GGUF) →
 * KD and no-KD students (`leader train`) → teacher head (PyTorch) → `leader evaluate` with the KD
 * student, the no-KD student and the teacher in one table.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { predictTeacherHead } from '../../src/teacher/teacher-evaluation';
import { averagePrecision, sampleF1, sampleJaccard, thresholdPredictions } from '../../src/training/metrics';
import { writeTinyGguf } from '../support/tiny-gguf';
import { writeTinyTeacherDataset } from '../support/tiny-teacher-dataset';
import { repoRoot, runLeader } from '../support/leader-cli';

interface Sample { id: string; split: string; labels: number[] }

describe('teacher distillation chain', () => {
  let dir: string;
  let dataset: string;
  let gguf: string;
  let features: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'teacher-chain-'));
    // 40 synthetic samples (32/4/4) with LEADER-template prompts: the golden dataset (5 samples, no
    // val split) is too small for early stopping and a meaningful KD-vs-no-KD table.
    dataset = writeTinyTeacherDataset(path.join(dir, 'dataset'), { samples: 40 }).dir;
    gguf = writeTinyGguf(path.join(dir, 'teacher.gguf'), { seed: 5, contextLength: 2048 }).path;
    features = path.join(dir, 'teacher.f32');
    const run = await runLeader(['teacher', '--dataset', dataset, '--out', features, '--backend', 'llama-cpp', '--model', gguf, '--threads', '1', '--batch-size', '16']);
    expect(run.stderr).toMatch(/samples\/s/);
    expect(run.code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const train = (out: string, ...extra: string[]) =>
    runLeader(['train', '--dataset', dataset, '--out', out, '--epochs', '3', '--batch-size', '8', '--quiet', ...extra]);

  it('trains a KD student whose manifest names the teacher, and a no-KD student that names none', async () => {
    const [kd, plain] = await Promise.all([train(path.join(dir, 'kd'), '--teacher-features', features), train(path.join(dir, 'nokd'))]);
    expect({ code: kd.code, stderr: kd.code ? kd.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect({ code: plain.code, stderr: plain.code ? plain.stderr : '' }).toEqual({ code: 0, stderr: '' });
    const kdManifest = JSON.parse(readFileSync(path.join(dir, 'kd', 'manifest.json'), 'utf8'));
    expect(kdManifest.teacher).toMatchObject({ backend: 'llama-cpp', model: gguf, dim: 64, featuresFile: features });
    expect(JSON.parse(readFileSync(path.join(dir, 'nokd', 'manifest.json'), 'utf8')).teacher).toBeNull();
  });

  it('trains the teacher head; onnxruntime-node reproduces its PyTorch test metrics', async () => {
    const head = path.join(dir, 'teacher-head');
    await promisify(execFile)('/usr/bin/python3', ['-m', 'trainer.leader_trainer.teacher_head', '--dataset', dataset, '--teacher-features', features, '--out', head, '--epochs', '30'], { cwd: repoRoot });
    const manifest = JSON.parse(readFileSync(path.join(head, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ kind: 'teacher-head', threshold: 0.5, dim: 64, teacher: { backend: 'llama-cpp', model: gguf } });
    const test = readFileSync(path.join(dataset, 'samples.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Sample).filter((s) => s.split === 'test');
    const { probs, labelCount } = await predictTeacherHead(head, features, test.map((s) => s.id));
    const predicted = thresholdPredictions(probs, labelCount, 0.5);
    const mean = (f: (i: number) => number) => test.reduce((sum, _, i) => sum + f(i), 0) / test.length;
    expect(mean((i) => sampleJaccard(predicted[i], test[i].labels))).toBeCloseTo(manifest.metrics.test.jaccard, 5);
    expect(mean((i) => sampleF1(predicted[i], test[i].labels))).toBeCloseTo(manifest.metrics.test.f1, 5);
    expect(mean((i) => averagePrecision(probs, i * labelCount, labelCount, test[i].labels))).toBeCloseTo(manifest.metrics.test.prauc, 5);
  });

  it('evaluates KD student, no-KD student and teacher on the same split in one table', async () => {
    const args = ['evaluate', '--model', path.join(dir, 'kd'), '--compare', path.join(dir, 'nokd'), '--dataset', dataset, '--teacher', path.join(dir, 'teacher-head'), '--teacher-features', features];
    const table = await runLeader(args);
    expect({ code: table.code, stderr: table.code ? table.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(/\(student, p > [\d.]+\)/);
    expect(table.stdout).toMatch(/\(nokd, p > [\d.]+\)/);
    expect(table.stdout).toMatch(/llama-cpp:teacher\.gguf \(teacher, p > 0\.5\)/);
    const json = JSON.parse((await runLeader([...args, '--json'])).stdout);
    expect(json.teacher).toMatchObject({ name: 'llama-cpp:teacher.gguf', threshold: 0.5, metrics: { prauc: expect.any(Number), jaccard: expect.any(Number) } });
    expect(json.compare).toHaveLength(1);
  });
});

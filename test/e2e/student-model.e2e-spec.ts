import { execFileSync } from 'node:child_process';
import { sha256File, sha256Hex } from '../../src/common/sha256';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parityBatch, type ParityCase } from '../support/parity-file';
import { ModelLoadError, StudentModel } from '../../src/inference/student-model';

const repo = path.resolve(__dirname, '..', '..');
const python = process.env.LEADER_PYTHON || '/usr/bin/python3';


async function copyModel(from: string, to: string): Promise<string> {
  await fs.cp(from, to, { recursive: true });
  return to;
}

async function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): Promise<void> {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  edit(m);
  await fs.writeFile(file, JSON.stringify(m));
}

describe(StudentModel.name, () => {
  let tmp: string;
  let modelDir: string;
  let sut: StudentModel;

  beforeAll(async () => {
    // A real (tiny) student: synthetic dataset → PyTorch trainer, one epoch → ONNX export; two seeds
    // averaged in one graph with the wide path, so the parity below covers the ensemble export too.
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'student-model-'));
    modelDir = path.join(tmp, 'model');
    const opts = { cwd: repo, stdio: 'pipe' as const };
    execFileSync(python, ['-m', 'trainer.leader_trainer.synthetic', '--out', path.join(tmp, 'ds'), '--patients', '40'], opts);
    execFileSync(python, ['-m', 'trainer.leader_trainer.train', '--dataset', path.join(tmp, 'ds'), '--out', modelDir, '--epochs', '1', '--threads', '1', '--seeds', '2', '--wide', '--bias-init'], opts);
    await fs.rm(path.join(modelDir, 'checkpoint.pt'), { force: true });
    sut = await StudentModel.load(modelDir);
  });

  afterAll(async () => {
    await sut?.release();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('loads a verified model folder: manifest, vocabulary, DDI pairs', () => {
    expect(sut.manifest.schemaVersion).toBe(1);
    expect(sut.vocab.labels).toEqual(sut.manifest.labels);
    expect(sut.vocab.tokens[0]).toBe('[PAD]');
    expect(Array.isArray(sut.ddi.pairs)).toBe(true);
    expect(sut.threshold).toBeGreaterThan(0);
  });

  it('gives the PyTorch probabilities and hidden states recorded in parity.json (max |diff| ≤ 1e-5)', async () => {
    const parity = JSON.parse(await fs.readFile(path.join(modelDir, 'parity.json'), 'utf8')) as { cases: ParityCase[] };
    expect(parity.cases.length).toBeGreaterThan(0);
    for (const c of parity.cases) {
      const out = await sut.predict(parityBatch(c.inputs));
      expect(out.batchSize).toBe(c.inputs.diag.dims[0]);
      expect(out.probs).toHaveLength(out.batchSize * sut.labelCount);
      expect(out.hidden).toHaveLength(out.batchSize * sut.manifest.io.hiddenSize);
      let maxDiff = 0;
      out.probs.forEach((p, i) => { maxDiff = Math.max(maxDiff, Math.abs(p - c.outputs.probs.data[i])); });
      expect(maxDiff).toBeLessThanOrEqual(1e-5);
    }
  });

  it('refuses a folder without manifest.json, naming the file', async () => {
    const dir = await fs.mkdtemp(path.join(tmp, 'empty-'));
    await expect(StudentModel.load(dir)).rejects.toThrow(new ModelLoadError(`${path.join(dir, 'manifest.json')}: missing (model manifest)`));
  });

  it('refuses another manifest schema version', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'schema'));
    await editManifest(dir, (m) => { m.schemaVersion = 2; });
    await expect(StudentModel.load(dir)).rejects.toThrow(/manifest\.json: schemaVersion 2, this service reads 1/);
  });

  it('refuses a corrupt model.onnx (bytes flipped) by its sha256', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'corrupt'));
    const onnx = path.join(dir, 'model.onnx');
    const bytes = await fs.readFile(onnx);
    for (let i = 100; i < 200; i++) bytes[i] ^= 0xff;
    await fs.writeFile(onnx, bytes);
    const err = await StudentModel.load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(new RegExp(`^${onnx.replace(/[.]/g, '\\.')}: sha256 .* does not match manifest onnxSha256`));
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses an ONNX file onnxruntime cannot parse even when its hash is recorded', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'garbage'));
    const garbage = Buffer.from('this is not an onnx protobuf at all');
    await fs.writeFile(path.join(dir, 'model.onnx'), garbage);
    await editManifest(dir, (m) => { m.onnxSha256 = sha256Hex(garbage); });
    await expect(StudentModel.load(dir)).rejects.toThrow(/model\.onnx: onnxruntime cannot load it/);
  });

  it('refuses a vocab.json that is not the one the model was trained with', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'vocab'));
    const file = path.join(dir, 'vocab.json');
    const vocab = JSON.parse(await fs.readFile(file, 'utf8')) as { tokens: string[] };
    vocab.tokens.push('icd10cm:EXTRA');
    await fs.writeFile(file, JSON.stringify(vocab));
    await expect(StudentModel.load(dir)).rejects.toThrow(/vocab\.json: sha256 .* does not match manifest vocabHash/);
  });

  it('refuses a tampered ddi.json (the interaction warnings) and a manifest without its hash', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'ddi'));
    const file = path.join(dir, 'ddi.json');
    const ddi = JSON.parse(await fs.readFile(file, 'utf8')) as { pairs: unknown[] };
    ddi.pairs = [];
    await fs.writeFile(file, JSON.stringify(ddi));
    await expect(StudentModel.load(dir)).rejects.toThrow(/ddi\.json: sha256 .* does not match manifest ddiSha256/);
    await editManifest(dir, (m) => { delete m.ddiSha256; });
    await expect(StudentModel.load(dir)).rejects.toThrow(/'ddiSha256' missing/);
  });

  it('loads the shipped models/default with every file hash checked', async () => {
    await expect(StudentModel.load(path.join(repo, 'models', 'default'))).resolves.toBeInstanceOf(StudentModel);
  });

  it('refuses a model whose ONNX inputs are not the student contract', async () => {
    const dir = await copyModel(modelDir, path.join(tmp, 'io'));
    const onnx = path.join(dir, 'model.onnx');
    execFileSync(python, ['-c', [
      'import onnx, sys',
      'm = onnx.load(sys.argv[1])',
      'old = m.graph.input[0].name',
      'm.graph.input[0].name = "renamed"',
      'for n in m.graph.node:',
      '    for i, x in enumerate(n.input):',
      '        if x == old: n.input[i] = "renamed"',
      'onnx.save(m, sys.argv[1])',
    ].join('\n'), onnx]);
    const sha = await sha256File(onnx);
    await editManifest(dir, (m) => { m.onnxSha256 = sha; });
    await expect(StudentModel.load(dir)).rejects.toThrow(/model\.onnx: inputs \[renamed, .*\], expected \[diag, proc, med, visit_mask, profile\]/);
  });
});

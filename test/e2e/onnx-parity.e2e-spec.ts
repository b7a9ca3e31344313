import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StudentModel } from '../../src/inference/student-model';
import { buildStudentBatch } from '../../src/leader/tensors/student-batch';
import type { StudentBatch, StudentSample } from '../../src/leader/tensors/student-input.types';
import { parityBatch, type ParityTensor } from '../support/parity-file';
import { buildStudentSample } from '../../src/leader/tensors/student-sample';
import { Vocabulary } from '../../src/leader/tensors/vocabulary';
import { Terminology } from '../../src/terminology/terminology';
import { buildTimeline } from '../../src/timeline/timeline';
import { readDataset, type LoadedDataset } from '../../src/training/dataset.reader';
import { FIXTURE_PATIENTS, loadFixturePatient } from '../fixtures/patients';
import { repoRoot, runLeader, type CliRun } from '../support/leader-cli';
import { SHARED_DATA } from '../support/shared-data';

/**
 * onnxruntime-node (served) vs PyTorch (trained) on the exact tensors serving feeds:
 *  1. models/default/parity.json: the exporter's PyTorch outputs vs ORT on the same inputs;
 *  2. those inputs rebuilt byte for byte by the TypeScript tensor builder from the same samples
 *     (the demo dataset rebuilt by the pipeline, seed 42: same vocabHash as the model);
 *  3. fixture patients (test/fixtures/patients) → timeline → buildStudentSample → buildStudentBatch,
 *     run through a freshly trained model in PyTorch (its checkpoint) and in ORT.
 */
const TOLERANCE = 1e-5;
const MAPPINGS = process.env.LEADER_FHIR_MAPPINGS ?? path.join(repoRoot, 'fhir-mappings');
const env = { LEADER_FHIR_MAPPINGS: MAPPINGS };
const python = process.env.LEADER_PYTHON || '/usr/bin/python3';
const defaultModel = path.join(repoRoot, 'models', 'default');

type Tensor = ParityTensor;
interface ParityCase { name: string; sampleIds: string[]; inputs: Record<string, Tensor>; outputs: Record<'probs' | 'hidden', Tensor> }

function ok(run: CliRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}


function batchToJson(b: StudentBatch): Record<string, Tensor> {
  const t = (x: { data: BigInt64Array | Float32Array; dims: number[] }): Tensor => ({ dims: [...x.dims], data: Array.from(x.data, Number) });
  return { diag: t(b.diag), proc: t(b.proc), med: t(b.med), visit_mask: t(b.visitMask), profile: t(b.profile) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** The ragged sample behind one parity case (trainer/leader_trainer/export.py `parity_cases`). */
function caseSamples(c: ParityCase, byId: Map<string, StudentSample>): StudentSample[] {
  return c.sampleIds.map((id) => {
    const [base, variant] = id.split('/');
    const s = byId.get(base);
    if (!s) throw new Error(`parity case ${c.name}: sample ${base} not in the rebuilt dataset`);
    const last = s.diag.length - 1;
    if (variant === 'last-visit') return { diag: [s.diag[last]], proc: [s.proc[last]], med: [[]], profile: s.profile };
    if (variant === 'empty-sets') return { diag: [s.diag[last]], proc: [[]], med: [[]], profile: s.profile.map(() => 0) };
    if (variant !== undefined) throw new Error(`parity case ${c.name}: unknown variant ${variant}`);
    return s;
  });
}

describe('ONNX parity: onnxruntime-node vs PyTorch (e2e)', () => {
  let tmp: string;
  let sut: StudentModel;
  let parity: { tolerance: number; cases: ParityCase[] };
  let dataset: LoadedDataset;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-parity-e2e-'));
    sut = await StudentModel.load(defaultModel);
    parity = JSON.parse(await fs.readFile(path.join(defaultModel, 'parity.json'), 'utf8'));
    ok(await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', path.join(tmp, 'fhir'), '--quiet'], env), 'mimic-to-fhir');
    // Built as scripts/train-default.sh builds models/default's dataset.
    ok(await runLeader(['dataset', '--fhir', path.join(tmp, 'fhir'), '--out', path.join(tmp, 'dataset'), '--seed', '42', '--per-visit', '--quiet'], env), 'dataset');
    dataset = await readDataset(path.join(tmp, 'dataset'));
  }, 300_000);

  afterAll(async () => {
    await sut?.release();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('models/default: ORT reproduces the PyTorch probabilities and hidden states of parity.json', async () => {
    expect(parity.tolerance).toBeLessThanOrEqual(TOLERANCE);
    expect(parity.cases.length).toBeGreaterThanOrEqual(3);
    for (const c of parity.cases) {
      const out = await sut.predict(parityBatch(c.inputs));
      expect(maxAbsDiff(out.probs, c.outputs.probs.data)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(out.hidden, c.outputs.hidden.data)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('the TypeScript tensor builder rebuilds parity.json inputs byte for byte from the same samples', async () => {
    expect(dataset.manifest.vocabHash).toBe(sut.manifest.vocabHash);
    const byId = new Map(dataset.samples.map((s) => [s.id, s.student]));
    for (const c of parity.cases) {
      const built = buildStudentBatch(caseSamples(c, byId));
      const recorded = parityBatch(c.inputs);
      for (const key of ['diag', 'proc', 'med', 'visitMask', 'profile'] as const) {
        expect({ case: c.name, key, dims: built[key].dims }).toEqual({ case: c.name, key, dims: recorded[key].dims });
        expect(Buffer.from(built[key].data.buffer).equals(Buffer.from(recorded[key].data.buffer))).toBe(true);
      }
      const out = await sut.predict(built);
      expect(maxAbsDiff(out.probs, c.outputs.probs.data)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('fixture patients: TS-built batch gives the same probabilities in ORT and in PyTorch', async () => {
    const modelDir = path.join(tmp, 'model');
    ok(await runLeader(['train', '--dataset', path.join(tmp, 'dataset'), '--out', modelDir, '--epochs', '1', '--quiet'], env, 300_000), 'train');
    const model = await StudentModel.load(modelDir);
    try {
      const vocab = Vocabulary.fromJSON(model.vocab);
      const terminology = await Terminology.load(MAPPINGS);
      const samples = FIXTURE_PATIENTS.map((name) => buildTimeline(loadFixturePatient(name), terminology))
        .filter((t) => t.visits.length > 0)
        .map((t) => buildStudentSample(t, t.visits.length - 1, vocab, model.manifest.io.maxVisits));
      expect(samples.length).toBeGreaterThanOrEqual(3);
      const batches = [buildStudentBatch(samples), buildStudentBatch([samples[0]])];
      const inputsFile = path.join(tmp, 'fixture-inputs.json');
      await fs.writeFile(inputsFile, JSON.stringify(batches.map(batchToJson)));
      const torchOut = JSON.parse(execFileSync(python, ['-c', [
        'import json, sys, numpy as np, torch',
        'from trainer.leader_trainer.model import ModelConfig, StudentModel',
        'from trainer.leader_trainer.metrics import apply_temperature',
        'torch.set_num_threads(2)',
        'ck = torch.load(sys.argv[1], map_location="cpu")',
        'm = StudentModel(ModelConfig(**ck["config"])); m.load_state_dict(ck["bestModel"]); m.eval()',
        'out = []',
        'for b in json.load(open(sys.argv[2])):',
        '    t = [torch.from_numpy(np.array(b[n]["data"], dtype=np.float32 if n == "visit_mask" else np.int64).reshape(b[n]["dims"])) for n in ("diag", "proc", "med", "visit_mask", "profile")]',
        '    with torch.no_grad(): p, h = m(*t)',
        '    out.append({"probs": apply_temperature(p.numpy(), float(sys.argv[3])).reshape(-1).tolist(), "hidden": h.reshape(-1).tolist()})',
        'print(json.dumps(out))',
      ].join('\n'), path.join(modelDir, 'checkpoint.pt'), inputsFile, String(model.temperature)], { cwd: repoRoot, maxBuffer: 64 << 20 }).toString()) as { probs: number[]; hidden: number[] }[];
      for (let i = 0; i < batches.length; i++) {
        const out = await model.predict(batches[i]);
        expect(maxAbsDiff(out.probs, torchOut[i].probs)).toBeLessThanOrEqual(TOLERANCE);
        expect(maxAbsDiff(out.hidden, torchOut[i].hidden)).toBeLessThanOrEqual(TOLERANCE);
      }
    } finally {
      await model.release();
    }
  }, 300_000);
});

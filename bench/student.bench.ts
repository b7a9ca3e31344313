/**
 * Student cost, each speed-up against a baseline measured in the same run on the same machine: the
 * paper-style student (every patient padded to 10 visits × 100 codes per set, as LEADER's code does)
 * beside the packed one. Inference: batch 1 and 32 through onnxruntime-node (the served path, tensor
 * building included) on models/default with real samples, packed batches vs the same samples in
 * LEADER's fixed layout through the same model. Training: step and epoch time at MIMIC-IV scale from
 * the trainer's own bench (trainer/leader_trainer/bench.py), packed vs paper-style. leader.md §9's
 * figures (1.37 s/step, 16 ms/patient) were measured on another machine and are shown for context only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { buildStudentBatch, sizeOrder } from '../src/leader/tensors/student-batch';
import { DEFAULT_MAX_VISITS, PAD_ID, type StudentBatch, type StudentSample } from '../src/leader/tensors/student-input.types';
import { StudentModel } from '../src/inference/student-model';
import { readDataset } from '../src/training/dataset.reader';
import { packageRoot } from '../src/common/package-root';
import { loadCliConfig } from '../src/config/cli-config';

/** The official student on 2 cores with OpenBLAS (leader.md §9): another machine, context only. */
export const REFERENCE = { trainStepSeconds: 1.37, inferBatch1Ms: 16, inferBatch32Ms: 560 };

/** LEADER's input layout (leader.md §5): max_record_num visits × max_seq_length codes per set. */
export const PAPER_CODES_PER_SET = 100;

/**
 * A batch in LEADER's fixed layout: every patient padded to 10 visits × 100 codes per set (wider only
 * for a longer set), what the paper's student computes on whatever the patient's size.
 */
export function paperStyleBatch(samples: readonly StudentSample[]): StudentBatch {
  const packed = buildStudentBatch(samples);
  const V = Math.max(DEFAULT_MAX_VISITS, packed.visits);
  const widen = (t: StudentBatch['diag']): StudentBatch['diag'] => {
    const [B, v0, k0] = t.dims;
    const K = Math.max(PAPER_CODES_PER_SET, k0);
    const data = new BigInt64Array(B * V * K).fill(BigInt(PAD_ID));
    for (let b = 0; b < B; b++) for (let v = 0; v < v0; v++) data.set(t.data.subarray((b * v0 + v) * k0, (b * v0 + v + 1) * k0), (b * V + v) * K);
    return { data, dims: [B, V, K] };
  };
  const mask = new Float32Array(packed.batchSize * V);
  for (let b = 0; b < packed.batchSize; b++) mask.set(packed.visitMask.data.subarray(b * packed.visits, (b + 1) * packed.visits), b * V);
  return { ...packed, visits: V, diag: widen(packed.diag), proc: widen(packed.proc), med: widen(packed.med), visitMask: { data: mask, dims: [packed.batchSize, V] } };
}

interface ParityTensor { dims: number[]; data: number[] }

/** Undo the padding of parity.json's recorded (real test-sample) inputs back into ragged samples. */
export function samplesFromParity(cases: { inputs: Record<string, ParityTensor> }[]): StudentSample[] {
  const out: StudentSample[] = [];
  for (const c of cases) {
    const { diag, proc, med, visit_mask: mask, profile } = c.inputs;
    const [B, V] = diag.dims;
    const sets = (t: ParityTensor, b: number, v: number) => {
      const k = t.dims[2];
      return t.data.slice((b * V + v) * k, (b * V + v + 1) * k).filter((x) => x !== 0);
    };
    for (let b = 0; b < B; b++) {
      const visits = mask.data.slice(b * V, (b + 1) * V).filter((x) => x > 0).length;
      const s: StudentSample = { diag: [], proc: [], med: [], profile: profile.data.slice(b * profile.dims[1], (b + 1) * profile.dims[1]) };
      for (let v = 0; v < visits; v++) {
        s.diag.push(sets(diag, b, v));
        s.proc.push(sets(proc, b, v));
        s.med.push(sets(med, b, v));
      }
      out.push(s);
    }
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timeInference(model: StudentModel, samples: StudentSample[], batchSize: number, iterations: number,
  layout: 'packed' | 'paper' = 'packed') {
  const batches: StudentSample[][] = [];
  const build = layout === 'paper' ? paperStyleBatch : buildStudentBatch;
  // Packed: patients of similar size batched together, as `leader evaluate` does (sizeOrder). Paper:
  // every patient has the same fixed shape, so the order changes nothing.
  if (layout === 'packed') samples = sizeOrder(samples).map((i) => samples[i]);
  for (let i = 0; i < iterations; i++) {
    batches.push(Array.from({ length: batchSize }, (_, j) => samples[(i * batchSize + j) % samples.length]));
  }
  for (let i = 0; i < Math.min(20, iterations); i++) await model.predict(build(batches[i % batches.length]));
  const ms: number[] = [];
  const started = process.hrtime.bigint();
  for (const b of batches) {
    const t = process.hrtime.bigint();
    await model.predict(build(b));
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), perSecond: (iterations * batchSize) / totalS };
}

/**
 * The MIMIC-IV demo dataset built by the project's own pipeline (mimic-to-fhir → dataset, seed 42,
 * as `npm run train:default` does), in a temporary folder; undefined when the demo is not there.
 */
function buildDemoDataset(workDir: string): string | undefined {
  const source = path.join(loadCliConfig().sharedDataDir, 'mimic-iv-demo-2.2');
  const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  try {
    execFileSync(process.execPath, [cli, 'mimic-to-fhir', '--source', source, '--out', path.join(workDir, 'fhir')], { stdio: ['ignore', 'ignore', 'ignore'] });
    execFileSync(process.execPath, [cli, 'dataset', '--fhir', path.join(workDir, 'fhir'), '--out', path.join(workDir, 'ds'), '--seed', '42'], { stdio: ['ignore', 'ignore', 'ignore'] });
    return path.join(workDir, 'ds');
  } catch {
    return undefined;
  }
}

/** Runs the trainer's bench and returns its JSON-lines records. */
function runTrainerBench(datasetDir: string | undefined): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    // LEADER_BENCH_TRAIN_STEPS times N steps and extrapolates the epoch (default: a full epoch).
    const steps = process.env.LEADER_BENCH_TRAIN_STEPS ? ['--steps', process.env.LEADER_BENCH_TRAIN_STEPS] : [];
    // The demo's 100 patients × 90 ≈ MIMIC-IV's 8.9 k (leader.md §1.6); without the demo, synthetic data of MIMIC-IV size.
    const data = datasetDir ? ['--dataset', datasetDir, '--replicate', '90'] : [];
    const child = spawn(loadCliConfig().python, ['-m', 'trainer.leader_trainer.bench', ...steps, ...data], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'inherit'] });
    const records: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as unknown;
        if (r && typeof r === 'object') records.push(r as Record<string, unknown>);
      } catch {
        process.stderr.write(`trainer bench: ${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(records) : reject(new Error(`trainer bench exited with ${code}`))));
  });
}

const fmt = (x: number, d = 2) => x.toFixed(d);

export async function runStudentBench(modelDir = process.env.LEADER_MODEL_DIR ?? path.join(packageRoot(), 'models', 'default')): Promise<void> {
  console.log(`\n== student (${modelDir}) ==`);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'leader-student-bench-'));
  try {
    await benchStudent(modelDir, workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function benchStudent(modelDir: string, workDir: string): Promise<void> {
  const demoDataset = process.env.LEADER_BENCH_DATASET ?? buildDemoDataset(workDir);
  const model = await StudentModel.load(modelDir, { intraOpNumThreads: 1 });
  try {
    const parity = JSON.parse(await fs.readFile(path.join(modelDir, 'parity.json'), 'utf8')) as { cases: { name: string; inputs: Record<string, ParityTensor> }[] };
    // The demo dataset (or LEADER_BENCH_DATASET) gives every real sample when its vocabulary is the
    // model's; otherwise the batched parity case's real test samples are cycled.
    const candidate = demoDataset ? await readDataset(demoDataset) : undefined;
    const dataset = candidate && candidate.manifest.vocabHash === model.manifest.vocabHash ? candidate : undefined;
    const datasetDir = dataset ? demoDataset : undefined;
    const samples = dataset
      ? dataset.samples.map((s) => s.student)
      : samplesFromParity(parity.cases.filter((c) => c.name.startsWith('batch-')));
    if (samples.length === 0) throw new Error(`${modelDir}/parity.json has no batch case to take samples from`);
    console.log(`inference through onnxruntime-node, 1 intra-op thread, ${samples.length} real samples${datasetDir ? ` of ${datasetDir}` : ' (parity.json test batch)'} cycled, batch building included`);
    for (const [batch, iterations, paperIterations, reference] of [[1, 2000, 300, REFERENCE.inferBatch1Ms], [32, 200, 30, REFERENCE.inferBatch32Ms]] as const) {
      const packed = await timeInference(model, samples, batch, iterations);
      const paper = await timeInference(model, samples, batch, paperIterations, 'paper');
      console.log(`  batch ${String(batch).padEnd(2)}: packed p50 ${fmt(packed.p50, 3)} ms  p99 ${fmt(packed.p99, 3)} ms  ${fmt(packed.perSecond, 0)} patients/s`
        + ` | paper-style (10 × ${PAPER_CODES_PER_SET}) p50 ${fmt(paper.p50, 3)} ms  ${fmt(paper.perSecond, 0)} patients/s`
        + ` | packed ${fmt(paper.p50 / packed.p50, 1)}× faster  (leader.md §9, another machine: ${reference} ms)`);
    }
  } finally {
    await model.release();
  }

  console.log(`training (PyTorch, trainer/leader_trainer/bench.py, ${demoDataset ? 'the MIMIC-IV demo dataset replicated ×90 ≈ MIMIC-IV\'s 8.9 k patients' : 'synthetic data at MIMIC-IV scale ≈ 8.9 k patients'}; `
    + `paper-style = every patient padded to 10 × ${PAPER_CODES_PER_SET}, padded computation; leader.md §9, another machine: ${REFERENCE.trainStepSeconds} s/step)`);
  let records: Record<string, unknown>[];
  try {
    records = await runTrainerBench(demoDataset);
  } catch (e) {
    console.log(`  not measured: ${(e as Error).message}`);
    return;
  }
  const of = (bench: string, layout: string) => records.find((r) => r.bench === bench && r.layout === layout);
  for (const r of records) {
    if (r.bench === 'trainer.step') {
      const step = Number(r.median) / 1000;
      const packed = of('trainer.step', 'packed');
      const ratio = r.layout === 'paper' && packed ? `: packed ${fmt(Number(r.median) / Number(packed.median), 1)}× faster (same run; CPU ${fmt(Number(r.cpu_median) / Number(packed.cpu_median), 1)}×)` : '';
      console.log(`  step ${r.layout} (batch ${r.batch}, KD ${r.teacher_dim}, ${r.steps} steps): median ${fmt(step, 3)} s (min ${fmt(Number(r.min) / 1000, 3)}, max ${fmt(Number(r.max) / 1000, 3)}, CPU ${fmt(Number(r.cpu_median) / 1000, 3)} s, load ${r.loadavg_1m})${ratio}`);
    } else if (r.bench === 'trainer.epoch') {
      const packed = of('trainer.epoch', 'packed');
      const ratio = r.layout === 'paper' && packed ? `: packed ${fmt(Number(r.seconds) / Number(packed.seconds), 1)}× faster (same run)` : '';
      console.log(`  epoch ${r.layout} (${r.train_samples} train patients, ${r.steps} steps${r.extrapolated ? ', extrapolated' : ''}): ${fmt(Number(r.seconds), 1)} s${ratio}`);
    } else if (r.bench === 'trainer.infer') {
      const paper = records.find((x) => x.bench === 'trainer.infer' && x.path === 'paper' && x.batch === r.batch);
      const ratio = r.path !== 'paper' && paper ? `; paper-style ${fmt(Number(paper.median) / Number(r.median), 1)}× slower` : '';
      console.log(`  PyTorch inference batch ${r.batch} (${r.path}${r.sorted_by_size ? ', sorted by size' : ''}): ${r.median} ms (${r.per_patient_ms} ms/patient)${ratio}`);
    } else if (r.bench === 'trainer.params') {
      console.log(`  parameters: ${r.total} total, ${r.inference} at inference (${r.tokens} tokens, ${r.labels} labels)`);
    } else {
      console.log(`  ${JSON.stringify(r)}`);
    }
  }
}

if (require.main === module) {
  runStudentBench().catch((e: Error) => {
    console.error(`student bench: ${e.message}`);
    process.exitCode = 1;
  });
}

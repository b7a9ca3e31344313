/**
 * Student cost: batch-1 / batch-32 inference through onnxruntime-node (the served path, tensor
 * building included) on models/default with real samples, and PyTorch training step / epoch time at
 * MIMIC-IV scale from the trainer's own bench (trainer/leader_trainer/bench.py), next to the
 * reference student's cost on a 2-core CPU (leader.md §9: 1.37 s/step, 16 ms/patient).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { buildStudentBatch, sizeOrder } from '../src/leader/tensors/student-batch';
import type { StudentSample } from '../src/leader/tensors/student-input.types';
import { StudentModel } from '../src/inference/student-model';
import { readDataset } from '../src/training/dataset.reader';
import { packageRoot } from '../src/common/package-root';
import { loadCliConfig } from '../src/config/cli-config';

/** The official student on 2 cores with OpenBLAS (leader.md §9). */
export const REFERENCE = { trainStepSeconds: 1.37, inferBatch1Ms: 16, inferBatch32Ms: 560 };

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

async function timeInference(model: StudentModel, samples: StudentSample[], batchSize: number, iterations: number) {
  const batches: StudentSample[][] = [];
  // Patients of similar size batched together, as `leader evaluate` does (sizeOrder).
  samples = sizeOrder(samples).map((i) => samples[i]);
  for (let i = 0; i < iterations; i++) {
    batches.push(Array.from({ length: batchSize }, (_, j) => samples[(i * batchSize + j) % samples.length]));
  }
  for (let i = 0; i < 20; i++) await model.predict(buildStudentBatch(batches[i % batches.length]));
  const ms: number[] = [];
  const started = process.hrtime.bigint();
  for (const b of batches) {
    const t = process.hrtime.bigint();
    await model.predict(buildStudentBatch(b));
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
    const b1 = await timeInference(model, samples, 1, 2000);
    const b32 = await timeInference(model, samples, 32, 200);
    console.log(`  batch 1 : p50 ${fmt(b1.p50, 3)} ms  p99 ${fmt(b1.p99, 3)} ms  ${fmt(b1.perSecond, 0)} patients/s   (reference ${REFERENCE.inferBatch1Ms} ms/patient: ${fmt(REFERENCE.inferBatch1Ms / b1.p50, 0)}× faster)`);
    console.log(`  batch 32: p50 ${fmt(b32.p50, 3)} ms  p99 ${fmt(b32.p99, 3)} ms  ${fmt(b32.perSecond, 0)} patients/s   (reference ${REFERENCE.inferBatch32Ms} ms/batch: ${fmt(REFERENCE.inferBatch32Ms / b32.p50, 0)}× faster)`);
  } finally {
    await model.release();
  }

  console.log(`training (PyTorch, trainer/leader_trainer/bench.py, ${demoDataset ? 'the MIMIC-IV demo dataset replicated ×90 ≈ MIMIC-IV\'s 8.9 k patients' : 'synthetic data at MIMIC-IV scale ≈ 8.9 k patients'})`);
  let records: Record<string, unknown>[];
  try {
    records = await runTrainerBench(demoDataset);
  } catch (e) {
    console.log(`  not measured: ${(e as Error).message}`);
    return;
  }
  for (const r of records) {
    if (r.bench === 'trainer.step') {
      const step = Number(r.median) / 1000;
      console.log(`  step (batch ${r.batch}, KD ${r.teacher_dim}): median ${fmt(step, 3)} s (min ${fmt(Number(r.min) / 1000, 3)}, max ${fmt(Number(r.max) / 1000, 3)}, CPU ${fmt(Number(r.cpu_median) / 1000, 3)} s, load ${r.loadavg_1m}) `
        + `vs reference ${REFERENCE.trainStepSeconds} s: ${fmt(REFERENCE.trainStepSeconds / step, 1)}× faster`);
    } else if (r.bench === 'trainer.epoch') {
      const epoch = Number(r.seconds);
      const ref = REFERENCE.trainStepSeconds * Number(r.steps);
      console.log(`  epoch (${r.train_samples} train patients, ${r.steps} steps${r.extrapolated ? ', extrapolated' : ''}): ${fmt(epoch, 1)} s `
        + `vs reference ≈ ${fmt(ref, 0)} s: ${fmt(ref / epoch, 1)}× faster`);
    } else if (r.bench === 'trainer.infer') {
      console.log(`  PyTorch inference batch ${r.batch} (${r.path} path${r.sorted_by_size ? ', sorted by size' : ''}): ${r.median} ms (${r.per_patient_ms} ms/patient)`);
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

/**
 * Teacher vs student cost, side by side: teacher features/s through node-llama-cpp (llama.cpp CPU,
 * threads 1 and 2) on a generated random-weight llama GGUF (2 layers, d=64: the tiny test model,
 * not a real LLM; a 7B teacher is ~10^5 × the weights) over LEADER prompts, next to the served
 * student's batch-1 inference time (onnxruntime-node, models/default) and both parameter counts.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildStudentBatch } from '../src/leader/tensors/student-batch';
import { StudentModel } from '../src/inference/student-model';
import { packageRoot } from '../src/common/package-root';
import { LlamaCppBackend } from '../src/teacher/llama-cpp.backend';
import { readTeacherPrompts } from '../src/cli/commands/teacher.command';
import { writeTinyGguf } from '../test/support/tiny-gguf';
import { writeTinyTeacherDataset } from '../test/support/tiny-teacher-dataset';
import { samplesFromParity } from './student.bench';

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function teacherRate(modelPath: string, prompts: string[], threads: number): Promise<{ perSecond: number; msPerPrompt: number; parameters: number; dim: number }> {
  const backend = await LlamaCppBackend.open({ modelPath, threads });
  try {
    await backend.embed(prompts.slice(0, 5)); // warm-up
    // Up to 200 features or ~3 s, whichever comes first (a busy shared CPU can make threads=2 very slow).
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let n = 0;
    while (n < 200 && (n < 5 || elapsed() < 3)) {
      await backend.embed([prompts[n % prompts.length]]);
      n++;
    }
    const seconds = elapsed();
    return { perSecond: n / seconds, msPerPrompt: (seconds * 1000) / n, parameters: backend.parameterCount, dim: backend.dim };
  } finally {
    await backend.close();
  }
}

interface StudentCost { batch1Ms: number; parameters: { total: number; inference: number }; name: string }

async function studentCost(modelDir: string): Promise<StudentCost | string> {
  if (!existsSync(path.join(modelDir, 'manifest.json'))) return `no model at ${modelDir} (npm run train:default)`;
  const model = await StudentModel.load(modelDir, { intraOpNumThreads: 1 });
  try {
    type ParityCase = Parameters<typeof samplesFromParity>[0][number] & { name: string };
    const parity = JSON.parse(await fs.readFile(path.join(modelDir, 'parity.json'), 'utf8')) as { cases: ParityCase[] };
    const samples = samplesFromParity(parity.cases.filter((c) => c.name.startsWith('batch-')));
    if (samples.length === 0) return `${modelDir}/parity.json has no batch case`;
    for (let i = 0; i < 20; i++) await model.predict(buildStudentBatch([samples[i % samples.length]]));
    const ms: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = process.hrtime.bigint();
      await model.predict(buildStudentBatch([samples[i % samples.length]]));
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    return { batch1Ms: ms[Math.floor(ms.length / 2)], parameters: model.manifest.parameters, name: model.manifest.name };
  } finally {
    await model.release();
  }
}

export async function runTeacherBench(modelDir = process.env.LEADER_MODEL_DIR ?? path.join(packageRoot(), 'models', 'default')): Promise<void> {
  console.log('\n== teacher (node-llama-cpp) vs student (onnxruntime-node) ==');
  const tmp = mkdtempSync(path.join(tmpdir(), 'teacher-bench-'));
  try {
    const golden = path.join(packageRoot(), 'test', 'golden', 'dataset');
    const datasetDir = existsSync(path.join(golden, 'manifest.json')) ? golden : writeTinyTeacherDataset(path.join(tmp, 'dataset'), { samples: 50 }).dir;
    const { prompts } = await readTeacherPrompts(datasetDir);
    const meanChars = prompts.reduce((s, p) => s + p.prompt.length, 0) / prompts.length;
    const gguf = writeTinyGguf(path.join(tmp, 'tiny.gguf'), { seed: 1, layers: 2, dim: 64, contextLength: 2048 });
    console.log(`teacher: tiny random-weight llama GGUF (2 layers, d=64, ${gguf.vocabSize}-token SPM vocab), ${prompts.length} prompts from ${datasetDir} (mean ${fmt(meanChars, 0)} chars), last-token features`);
    const rates: Record<number, Awaited<ReturnType<typeof teacherRate>>> = {};
    for (const threads of [1, 2]) {
      rates[threads] = await teacherRate(gguf.path, prompts.map((p) => p.prompt), threads);
      console.log(`  threads ${threads}: ${fmt(rates[threads].perSecond, 1)} features/s (${fmt(rates[threads].msPerPrompt, 2)} ms/prompt)`);
    }
    const student = await studentCost(modelDir);
    const teacherParams = rates[1].parameters;
    console.log('');
    console.log(`${''.padEnd(34)}${'parameters'.padStart(14)}${'time per patient'.padStart(22)}`);
    console.log(`${'teacher (tiny GGUF, 1 thread)'.padEnd(34)}${teacherParams.toLocaleString('en-US').padStart(14)}${`${fmt(rates[1].msPerPrompt, 3)} ms (feature)`.padStart(22)}`);
    if (typeof student === 'string') console.log(`student: not measured: ${student}`);
    else {
      console.log(`${`student ${student.name} (batch 1)`.padEnd(34)}${student.parameters.inference.toLocaleString('en-US').padStart(14)}${`${fmt(student.batch1Ms, 3)} ms (probs)`.padStart(22)}`);
      console.log(`  student total parameters incl. training-only heads: ${student.parameters.total.toLocaleString('en-US')}; teacher/student inference parameters: ${fmt(teacherParams / student.parameters.inference, 2)}×`);
    }
    console.log('  LEADER(T) is LLaMA-7B (~6.7e9 parameters, 4096-d features); the tiny GGUF only exercises the code path.');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runTeacherBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

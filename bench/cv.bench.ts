/**
 * Cross-validation cost: a 5-fold `leader evaluate --folds 5 --model models/default` (its training recipe) on the MIMIC-IV demo
 * (mimic-to-fhir → dataset, then five students trained through the Python trainer, scored through
 * onnxruntime-node, three baselines per fold), on the machine's 2 cores. Its baseline, measured in the
 * same run: one `leader train` + `leader evaluate` of the same recipe on the standard 8:1:1 split, so
 * the ratio says what cross-validation costs over the single split it replaces.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../src/common/package-root';
import { cliConfig } from '../src/config/cli-config';
import type { ModelManifest } from '../src/inference/model-manifest.types';

const run = promisify(execFile);

const seconds = (t: string) => {
  const m = /(\d+)m([\d.]+)s/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
};

/** Wall time of one `leader` command, and the CPU time (user + sys) of it and its children (bash `times`). */
async function timed(args: string[]): Promise<{ seconds: number; cpu: number }> {
  const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const t0 = process.hrtime.bigint();
  const { stdout } = await run('bash', ['-c', 'node "$@" > /dev/null 2> /dev/null; code=$?; times; exit $code', 'bash', cli, ...args], { maxBuffer: 1 << 20 });
  const [user, sys] = stdout.trim().split('\n').pop()!.split(/\s+/);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpu: seconds(user) + seconds(sys) };
}

export async function runCvBench(): Promise<void> {
  const shipped = path.join(packageRoot(), 'models', 'default');
  const recipe = (JSON.parse(readFileSync(path.join(shipped, 'manifest.json'), 'utf8')) as ModelManifest).training.recipe ?? [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'leader-cv-bench-'));
  try {
    const fhir = path.join(tmp, 'fhir');
    const ds = path.join(tmp, 'dataset');
    await timed(['mimic-to-fhir', '--source', path.join(cliConfig().sharedDataDir, 'mimic-iv-demo-2.2'), '--out', fhir, '--quiet']);
    // One sample per visit, as scripts/train-default.sh builds models/default's dataset.
    await timed(['dataset', '--fhir', fhir, '--out', ds, '--seed', '42', '--per-visit', '--quiet']);
    const single = await timed(['train', '--dataset', ds, '--out', path.join(tmp, 'model'), '--seed', '42', '--quiet', '--', ...recipe]);
    const evaluate = await timed(['evaluate', '--model', path.join(tmp, 'model'), '--dataset', ds, '--json']);
    const cv = await timed(['evaluate', '--folds', '5', '--model', shipped, '--dataset', ds, '--out', path.join(tmp, 'cv'), '--quiet', '--json']);
    const base = single.seconds + evaluate.seconds;
    process.stdout.write(`models/default's recipe: ${recipe.join(' ') || '(trainer defaults)'}; ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}\n`);
    process.stdout.write(`single split (train + evaluate)    ${base.toFixed(1)} s wall, ${(single.cpu + evaluate.cpu).toFixed(1)} s CPU\n`);
    process.stdout.write(`5-fold cv (5 students + baselines) ${cv.seconds.toFixed(1)} s wall, ${cv.cpu.toFixed(1)} s CPU = ${(cv.seconds / base).toFixed(2)}× the single split, ${(cv.seconds / 5).toFixed(1)} s per fold\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

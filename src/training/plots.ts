/**
 * `leader evaluate --plots DIR`: the figures people would rather look at than read — PR curves (student
 * vs baselines), the reliability diagram, the learning curve and the training curves. This module
 * computes the numbers; trainer/leader_trainer/plots.py draws them with matplotlib (SVG) from one
 * plot-data.json, so every figure can be traced back to the data it was drawn from.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../common/package-root';
import { cliConfig } from '../config/cli-config';
import type { ReliabilityBin } from './cross-validation';
import type { LearningCurvePoint } from './cross-validation.report';
import type { ScoredSamples } from './metrics';

export interface PrCurve {
  name: string;
  precision: number[];
  recall: number[];
  /** Micro-averaged average precision over every (patient, label) pair. */
  averagePrecision: number;
}

export interface TrainingCurve {
  label: string;
  history: { epoch: number; trainLoss: number; valPrauc: number | null }[];
}

export interface PlotData {
  title: string;
  pr: PrCurve[];
  reliability?: { ece: number; bins: ReliabilityBin[]; what: string };
  learningCurve?: LearningCurvePoint[];
  training: TrainingCurve[];
}

/** The figures written, by file name. */
export const PLOT_FILES = ['pr-curves.svg', 'reliability.svg', 'learning-curve.svg', 'training-curves.svg'] as const;

/** Micro-averaged precision/recall over all (sample, label) pairs, one point per distinct score, thinned to ≤ maxPoints. */
export function microPrCurve(name: string, s: Pick<ScoredSamples, 'probs' | 'targets' | 'labelCount'>, maxPoints = 300): PrCurve {
  const M = s.labelCount;
  const n = s.targets.length * M;
  const y = new Uint8Array(n);
  s.targets.forEach((t, i) => t.forEach((m) => { y[i * M + m] = 1; }));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s.probs[b] - s.probs[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const precision: number[] = [], recall: number[] = [];
  let tp = 0, fp = 0, ap = 0, prevRecall = 0;
  for (let i = 0; i < n;) {
    const score = s.probs[order[i]];
    while (i < n && s.probs[order[i]] === score) {
      if (y[order[i]]) tp++; else fp++;
      i++;
    }
    const r = positives ? tp / positives : 0;
    const p = tp / (tp + fp);
    ap += (r - prevRecall) * p;
    prevRecall = r;
    precision.push(p);
    recall.push(r);
  }
  const step = Math.max(1, Math.ceil(precision.length / maxPoints));
  const keep = (_: number, i: number) => i % step === 0 || i === precision.length - 1;
  return { name, precision: precision.filter(keep), recall: recall.filter(keep), averagePrecision: ap };
}

/** Write DIR/plot-data.json and draw the SVGs with matplotlib; returns the files written. */
export async function renderPlots(data: PlotData, dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const dataFile = path.join(dir, 'plot-data.json');
  await fs.writeFile(dataFile, `${JSON.stringify(data)}\n`);
  const python = cliConfig().python;
  const written: string[] = [];
  let stderr = '';
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(python, ['-m', 'trainer.leader_trainer.plots', '--data', dataFile, '--out', dir], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => written.push(...b.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', (e) => reject(new Error(`cannot start ${python} for the plots (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    const last = stderr.trim().split('\n').pop() ?? `exit ${code}`;
    throw new Error(`plots: ${last}${/No module named 'matplotlib'/.test(stderr) ? ' (apt-get install -y python3-matplotlib, or run scripts/setup.sh)' : ''}`);
  }
  return [dataFile, ...written];
}

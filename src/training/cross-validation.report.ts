/** The human-readable reports of `leader cv` (and `leader evaluate --folds`), learning curve and `leader tune`. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write';
import type { ManifestCrossValidation, ModelManifest, ModelMetrics } from '../inference/model-manifest.types';
import type { CrossValidationResult } from './cross-validation';

const f4 = (x: number) => x.toFixed(4);
const pm = (m: number, s: number) => `${f4(m)} ± ${f4(s)}`;

function line(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
}

export function formatCrossValidation(r: CrossValidationResult): string {
  const out: string[] = [];
  out.push(`${r.folds}-fold cross-validation by patient of ${r.dataset.dir}: ${r.dataset.patients} test patients (each once, last visit${r.dataset.perVisit ? '; training on every visit' : ''}), seed ${r.seed}`
    + `${r.trainFraction < 1 ? `, ${Math.round(r.trainFraction * 100)} % of each fold's train patients` : ''}; student trainer flags: ${r.trainerArgs.join(' ') || '(defaults)'}`);
  out.push('');
  out.push('per fold (test patients): PRAUC / Jaccard');
  out.push(line(['model', ...r.perFold.map((f) => `fold ${f.fold}`)], [22, ...r.perFold.map(() => 15)]));
  for (const m of r.models) {
    out.push(line([m, ...r.perFold.map((f) => `${f4(f.metrics[m].prauc)}/${f4(f.metrics[m].jaccard)}`)], [22, ...r.perFold.map(() => 15)]));
  }
  out.push('');
  out.push(line(['model', 'PRAUC (mean ± std over folds)', 'Jaccard', 'F1', 'pooled PRAUC', 'pooled Jaccard', '#Med'], [22, 30, 17, 17, 13, 15, 6]));
  for (const m of r.models) {
    const a = r.mean[m], s = r.std[m], p = r.pooled[m];
    out.push(line([m, pm(a.prauc, s.prauc), pm(a.jaccard, s.jaccard), pm(a.f1, s.f1), f4(p.prauc), f4(p.jaccard), p.avg_med.toFixed(1)], [22, 30, 17, 17, 13, 15, 6]));
  }
  out.push('');
  for (const metric of ['prauc', 'jaccard'] as const) {
    const d = r.difference[metric];
    out.push(`${metric === 'prauc' ? 'PRAUC' : 'Jaccard'}: student − ${d.baseline} = ${d.mean >= 0 ? '+' : ''}${f4(d.mean)}, 95 % paired bootstrap interval [${f4(d.low)}, ${f4(d.high)}] (${d.resamples} resamples of patients): ${d.verdict}`);
  }
  out.push(`calibration (student, test folds, served probabilities): ECE ${f4(r.calibration.ece)}; temperatures ${r.perFold.map((f) => f.temperature).join(', ')}; thresholds ${r.perFold.map((f) => f.threshold).join(', ')}`);
  out.push(`student on validation patients (model selection): PRAUC ${f4(r.validation.prauc)}, Jaccard ${f4(r.validation.jaccard)}`);
  return out.join('\n');
}

export interface LearningCurvePoint {
  fraction: number;
  /** Mean train patients per fold. */
  trainPatients: number;
  pooled: Record<string, ModelMetrics>;
  difference: CrossValidationResult['difference'];
}

export function learningCurvePoint(r: CrossValidationResult): LearningCurvePoint {
  return { fraction: r.trainFraction, trainPatients: r.perFold.reduce((n, f) => n + f.patients.train, 0) / r.perFold.length, pooled: r.pooled, difference: r.difference };
}

export function formatLearningCurve(points: readonly LearningCurvePoint[]): string {
  const models = Object.keys(points[0].pooled);
  const out = ['learning curve (pooled over test folds): PRAUC / Jaccard by share of train patients'];
  out.push(line(['model', ...points.map((p) => `${Math.round(p.fraction * 100)} % (${Math.round(p.trainPatients)})`)], [22, ...points.map(() => 15)]));
  for (const m of models) out.push(line([m, ...points.map((p) => `${f4(p.pooled[m].prauc)}/${f4(p.pooled[m].jaccard)}`)], [22, ...points.map(() => 15)]));
  out.push(line(['student − best', ...points.map((p) => `${p.difference.prauc.mean >= 0 ? '+' : ''}${p.difference.prauc.mean.toFixed(3)}/${p.difference.jaccard.mean >= 0 ? '+' : ''}${p.difference.jaccard.mean.toFixed(3)}`)], [22, ...points.map(() => 15)]));
  return out.join('\n');
}


/** The manifest's `crossValidation` block (model card, README) from a finished run. */
export function manifestCrossValidationBlock(r: CrossValidationResult, curve?: readonly LearningCurvePoint[], evaluatedAt = new Date().toISOString()): ManifestCrossValidation {
  const pick = (m: ModelMetrics) => ({ prauc: m.prauc, jaccard: m.jaccard });
  return {
    folds: r.folds, patients: r.dataset.patients, dataset: r.dataset.description, trainerArgs: r.trainerArgs,
    pooled: r.pooled, mean: r.mean, std: r.std,
    difference: {
      prauc: { baseline: r.difference.prauc.baseline, mean: r.difference.prauc.mean, low: r.difference.prauc.low, high: r.difference.prauc.high, verdict: r.difference.prauc.verdict },
      jaccard: { baseline: r.difference.jaccard.baseline, mean: r.difference.jaccard.mean, low: r.difference.jaccard.low, high: r.difference.jaccard.high, verdict: r.difference.jaccard.verdict },
    },
    ece: r.calibration.ece,
    ...(curve ? { learningCurve: curve.map((p) => ({ fraction: p.fraction, trainPatients: p.trainPatients, pooled: Object.fromEntries(Object.entries(p.pooled).map(([k, m]) => [k, pick(m)])) })) } : {}),
    evaluatedAt,
  };
}

/** Write the block into MODEL/manifest.json (atomically; hashes untouched). */
export async function recordCrossValidationInManifest(modelDir: string, block: ManifestCrossValidation): Promise<string> {
  const file = path.join(modelDir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as ModelManifest;
  manifest.crossValidation = block;
  await writeFileAtomic(file, `${JSON.stringify(manifest, null, 1)}\n`);
  return file;
}

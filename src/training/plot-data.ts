/** What `leader evaluate --plots` draws, gathered from one evaluation or from a cross-validation's folds. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ModelManifest } from '../inference/model-manifest.types';
import { pooledScores, reliability, STUDENT, type CrossValidationResult, type FoldResult } from './cross-validation';
import type { LearningCurvePoint } from './cross-validation.report';
import type { EvaluationResult } from './evaluate';
import { microPrCurve, type PlotData } from './plots';

/** One model on one split: PR curves of the student and the baselines, its reliability, its training curve. */
export function evaluationPlotData(r: EvaluationResult, manifest: ModelManifest): PlotData {
  const student = r.scores[STUDENT];
  return {
    title: `${r.model.name}, ${r.split} split (${r.n} patients)`,
    pr: Object.entries(r.scores).map(([name, s]) => microPrCurve(name, s)),
    reliability: { ...reliability(student.probs, student.targets, student.labelCount), what: `${r.split} split, served probabilities` },
    training: manifest.training.history?.length ? [{ label: r.model.name, history: manifest.training.history }] : [],
  };
}

/** The finished folds of a `leader cv` work folder, in fold order. */
export async function readFoldResults(out: string, folds: number): Promise<FoldResult[]> {
  const results: FoldResult[] = [];
  for (let k = 0; k < folds; k++) results.push(JSON.parse(await fs.readFile(path.join(out, `fold-${k}`, 'result.json'), 'utf8')) as FoldResult);
  return results;
}

/** A cross-validation: PR curves and reliability pooled over the held-out folds, each fold's training curve, the learning curve. */
export async function crossValidationPlotData(run: { result: CrossValidationResult; learningCurve?: LearningCurvePoint[] }): Promise<PlotData> {
  const r = run.result;
  const folds = await readFoldResults(r.out, r.folds);
  return {
    title: `${r.folds}-fold CV by patient, ${r.dataset.patients} patients: ${r.dataset.description.replace(/ \(.*$/, '')}`,
    pr: r.models.map((name) => microPrCurve(name, pooledScores(folds, name))),
    reliability: { ...r.calibration, what: 'held-out test folds, served probabilities' },
    learningCurve: run.learningCurve,
    training: folds.map((f) => ({ label: `fold ${f.fold}`, history: f.trainer.history })),
  };
}

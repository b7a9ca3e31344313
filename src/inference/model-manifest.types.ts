/**
 * models/<name>/manifest.json, written by the PyTorch exporter (trainer/leader_trainer/export.py)
 * next to model.onnx and vocab.json; checked by the service at startup and by `leader evaluate`.
 */
import type { TemperatureCalibration } from './calibration';

export const MODEL_MANIFEST_SCHEMA_VERSION = 1;

export interface ModelMetrics {
  jaccard: number;
  f1: number;
  prauc: number;
  ddi_rate: number;
  avg_med: number;
}

export interface ModelManifest {
  schemaVersion: typeof MODEL_MANIFEST_SCHEMA_VERSION;
  /** Model name and version, shown in card sources (e.g. `leader-student-mimic-iv-demo`, `0.1.0`). */
  name: string;
  version: string;
  createdAt: string;
  /** Dataset schema version of the data it was trained on (training/dataset.schema.ts). */
  datasetSchemaVersion: number;
  /** File names relative to the manifest. */
  files: { onnx: string; vocab: string; ddi: string };
  /** sha256 of the vocab.json it was trained with (= the dataset's vocabHash). */
  vocabHash: string;
  /** sha256 of model.onnx. */
  onnxSha256: string;
  /** sha256 of ddi.json (the interaction pairs behind the warning cards). */
  ddiSha256: string;
  /** sha256 of the serving files `leader train` adds (products.json, never-suggest.json), by file name. */
  servingFilesSha256?: Record<string, string>;
  /** Label list (ATC3) and names, in output order. */
  labels: string[];
  labelNames: Record<string, string>;
  /** Decision threshold on probs (chosen on validation; LEADER's student uses 0.3). */
  threshold: number;
  thresholdSource: string;
  /** Temperature fitted on validation, applied to every served probability (calibration.ts); absent = none. */
  calibration?: TemperatureCalibration | null;
  io: { inputs: string[]; outputs: string[]; opset: number; hiddenSize: number; maxVisits: number };
  architecture: Record<string, unknown>;
  parameters: { total: number; inference: number };
  training: {
    dataset: string;
    datasetDescription?: string;
    licence?: string;
    attribution?: string;
    /** e.g. "demo-scale: 100 patients of the MIMIC-IV demo; not for clinical use". */
    scale: string;
    epochs: number;
    bestEpoch: number;
    seed: number;
    samples: { train: number; val: number; test: number };
    /** The trainer flags that shaped this model (`leader evaluate --folds K --model DIR` cross-validates them). */
    recipe?: string[];
    /** Per-epoch mean train loss and validation PRAUC (the training curves). */
    history?: { epoch: number; trainLoss: number; valPrauc: number | null }[];
  };
  teacher: { backend: string; model: string; dim: number; featuresFile?: string; alpha: number } | null;
  metrics: {
    split: string;
    student: ModelMetrics;
    baselines?: Record<string, ModelMetrics>;
    /** Written by `leader evaluate --record-metrics`: student/baselines above are means over `rounds`. */
    n?: number;
    rounds?: { rounds: number; fraction: number; seed: number };
    studentStd?: ModelMetrics;
    baselinesStd?: Record<string, ModelMetrics>;
    /** Student on the whole split, no subsampling. */
    studentAll?: ModelMetrics;
    groups?: Record<string, { n: number; student: ModelMetrics }>;
    evaluatedWith?: string;
    evaluatedAt?: string;
  } | null;
  limits: string[];
  /** Written by `leader evaluate --folds K --record-cv DIR`: the training recipe cross-validated by patient. */
  crossValidation?: ManifestCrossValidation;
}

export interface ManifestCrossValidation {
  folds: number;
  patients: number;
  dataset: string;
  trainerArgs: string[];
  /** Over all test patients (each once). */
  pooled: Record<string, ModelMetrics>;
  mean: Record<string, ModelMetrics>;
  std: Record<string, ModelMetrics>;
  /** Student − best baseline with its 95 % paired bootstrap interval. */
  difference: Record<'prauc' | 'jaccard', { baseline: string; mean: number; low: number; high: number; verdict: string }>;
  /** Expected calibration error of the served (calibrated) probabilities on the held-out folds. */
  ece: number;
  learningCurve?: { fraction: number; trainPatients: number; pooled: Record<string, { prauc: number; jaccard: number }> }[];
  evaluatedAt: string;
}

import type { ModelManifest } from '../../inference/model-manifest.types';
import { modelCardOf, renderModelCardHtml } from './model-card.page';

const metrics = (prauc: number, jaccard: number) => ({ prauc, jaccard, f1: 0.5, ddi_rate: 0.05, avg_med: 20 });

const manifest = {
  schemaVersion: 1, name: 'leader-student-test', version: '0.1.0', createdAt: '2026-01-01T00:00:00Z', datasetSchemaVersion: 1,
  files: { onnx: 'model.onnx', vocab: 'vocab.json', ddi: 'ddi.json' }, vocabHash: 'a', onnxSha256: 'b', labels: ['A10B'], labelNames: {},
  threshold: 0.3, thresholdSource: 'validation', io: { inputs: [], outputs: [], opset: 17, hiddenSize: 128, maxVisits: 10 }, architecture: {},
  parameters: { total: 1, inference: 1 },
  training: { dataset: 'd', scale: 'demo', epochs: 3, bestEpoch: 2, seed: 42, samples: { train: 1, val: 1, test: 1 } },
  teacher: null, metrics: null, limits: [],
  crossValidation: {
    folds: 5, patients: 100, dataset: 'ds-iv', trainerArgs: [], evaluatedAt: '2026-01-01T00:00:00Z', ece: 0.0176,
    pooled: { student: metrics(0.71, 0.45), 'logistic-regression': metrics(0.72, 0.46) },
    mean: { student: metrics(0.71, 0.45), 'logistic-regression': metrics(0.72, 0.46) },
    std: { student: metrics(0.02, 0.02), 'logistic-regression': metrics(0.03, 0.02) },
    difference: {
      prauc: { baseline: 'logistic-regression', mean: -0.003, low: -0.01, high: 0.003, verdict: 'spans 0' },
      jaccard: { baseline: 'logistic-regression', mean: -0.013, low: -0.024, high: -0.002, verdict: 'student below the best baseline (interval below 0)' },
    },
  },
} as unknown as ModelManifest;

describe('model card: cross-validation and plots', () => {
  it('states the cross-validated gap with its interval and shows the plots the model folder has', () => {
    const html = renderModelCardHtml(modelCardOf(manifest), ['pr-curves.svg', 'learning-curve.svg']);
    expect(html).toContain('<h2>Cross-validation and plots</h2>');
    expect(html).toContain('5-fold cross-validation by patient');
    expect(html).toContain('student − logistic-regression = -0.013 (95 % paired bootstrap interval -0.024 to -0.002)');
    expect(html).toContain('<img src="leader-student-test/plots/pr-curves.svg"');
    expect(html).toContain('<img src="leader-student-test/plots/learning-curve.svg"');
    expect(html).not.toContain('reliability.svg');
  });

  it('has no such section for a model without either', () => {
    const html = renderModelCardHtml(modelCardOf({ ...manifest, crossValidation: undefined }));
    expect(html).not.toContain('Cross-validation and plots');
  });
});

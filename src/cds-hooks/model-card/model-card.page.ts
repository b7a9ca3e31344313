import type { ModelManifest, ModelMetrics } from '../../inference/model-manifest.types';

/** What the model-card page shows, taken from the manifest only (no invented numbers). */
export interface ModelCard {
  name: string;
  version: string;
  createdAt: string;
  provenance: { method: string; architecture: Record<string, unknown>; parameters: ModelManifest['parameters']; teacher: ModelManifest['teacher']; onnxSha256: string; vocabHash: string };
  data: ModelManifest['training'];
  metrics: ModelManifest['metrics'];
  threshold: { value: number; source: string };
  labels: number;
  /** Who the model learnt from (inpatient admissions for MIMIC). */
  population: string;
  limits: string[];
  /** Cross-validation of the training recipe (manifest crossValidation), when recorded. */
  crossValidation: ModelManifest['crossValidation'] | null;
  /** What the "why" on the cards is. */
  evidence: string;
}

/** How the cards' evidence is computed and what it means (shown on every model card). */
export const EVIDENCE_EXPLANATION = 'Each suggested class lists the patient inputs that moved its probability most: every diagnosis, procedure, '
  + 'earlier medication class and the patient profile is removed in turn (occlusion), all variants run through the model in one batch, '
  + 'and the effect is the probability with the input minus without it, in percentage points (positive: the input raised it). '
  + 'This shows an association the model learnt from its training data, not a cause, and not a clinical indication.';

/** The training population in words, from the manifest's dataset description. */
export function populationOf(m: ModelManifest): string {
  const d = `${m.training?.dataset ?? ''} ${m.training?.datasetDescription ?? ''}`;
  const n = m.training?.samples ? m.training.samples.train + m.training.samples.val + m.training.samples.test : undefined;
  if (/mimic/i.test(d)) {
    return `Hospital inpatients: admissions to Beth Israel Deaconess Medical Center, Boston (MIMIC${/mimic-iii|mimic iii/i.test(d) ? '-III' : '-IV'}${/demo/i.test(d) ? ' demo' : ''}${n ? `, ${n} patients` : ''}). `
      + 'The model predicts the classes ordered during an admission, inpatient housekeeping included; it has not seen outpatients, children\'s wards outside the data, or other hospitals.';
  }
  return `${m.training?.datasetDescription ?? m.training?.dataset ?? 'Not recorded'}${n ? ` (${n} patients)` : ''}.`;
}

/** What the model is: a distilled student when a teacher is recorded, else the student architecture trained without one. */
export function methodOf(m: ModelManifest): string {
  return m.teacher
    ? `LEADER student (arXiv 2402.02803): a visit-sequence transformer distilled from an LLM teacher (${m.teacher.backend} ${m.teacher.model}), exported to ONNX`
    : 'LEADER student architecture (arXiv 2402.02803), a visit-sequence transformer trained on the orders alone: no LLM teacher and no distillation. Exported to ONNX';
}

export function modelCardOf(m: ModelManifest): ModelCard {
  return {
    name: m.name,
    version: m.version,
    createdAt: m.createdAt,
    provenance: {
      method: methodOf(m),
      architecture: m.architecture ?? {},
      parameters: m.parameters,
      teacher: m.teacher ?? null,
      onnxSha256: m.onnxSha256,
      vocabHash: m.vocabHash,
    },
    data: m.training,
    metrics: m.metrics ?? null,
    threshold: { value: m.threshold, source: m.thresholdSource },
    labels: m.labels.length,
    population: populationOf(m),
    limits: m.limits ?? [],
    crossValidation: m.crossValidation ?? null,
    evidence: EVIDENCE_EXPLANATION,
  };
}

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function metricsRows(name: string, m: ModelMetrics): string {
  const f = (x: number): string => (typeof x === 'number' ? x.toFixed(4) : '–');
  return `<tr><td>${esc(name)}</td><td>${f(m.jaccard)}</td><td>${f(m.f1)}</td><td>${f(m.prauc)}</td><td>${f(m.ddi_rate)}</td><td>${f(m.avg_med)}</td></tr>`;
}

/** The figures the page shows when the model folder has them (plots/, written by `leader evaluate --plots`). */
export const MODEL_CARD_PLOTS: readonly { file: string; caption: string }[] = [
  { file: 'pr-curves.svg', caption: 'Precision-recall curves, student vs baselines' },
  { file: 'reliability.svg', caption: 'Reliability diagram of the served (temperature-calibrated) probabilities' },
  { file: 'learning-curve.svg', caption: 'Learning curve: student and baselines by number of training patients' },
  { file: 'training-curves.svg', caption: 'Training curves: train loss and validation PRAUC per epoch' },
];

function crossValidationSection(card: ModelCard, plots: readonly string[]): string {
  const cv = card.crossValidation;
  const f = (x: number) => x.toFixed(3);
  const diff = (k: 'prauc' | 'jaccard', label: string) => {
    const d = cv!.difference[k];
    return `<li>${label}: student − ${esc(d.baseline)} = ${d.mean >= 0 ? '+' : ''}${f(d.mean)} (95 % paired bootstrap interval ${f(d.low)} to ${f(d.high)}): ${esc(d.verdict)}</li>`;
  };
  const summary = cv
    ? `<p>${esc(cv.folds)}-fold cross-validation by patient of the training recipe on ${esc(cv.patients)} patients (${esc(cv.dataset)}); every patient is a test patient once, every baseline is fitted on the same folds.</p>
<table><tr><th>model</th><th>pooled PRAUC</th><th>pooled Jaccard</th><th>PRAUC mean ± std over folds</th></tr>${Object.entries(cv.pooled).map(([k, m]) => `<tr><td>${esc(k)}</td><td>${f(m.prauc)}</td><td>${f(m.jaccard)}</td><td>${f(cv.mean[k].prauc)} ± ${f(cv.std[k].prauc)}</td></tr>`).join('')}</table>
<ul>${diff('prauc', 'PRAUC')}${diff('jaccard', 'Jaccard')}<li>Expected calibration error on the held-out folds: ${cv.ece.toFixed(4)}</li></ul>`
    : '';
  const figures = MODEL_CARD_PLOTS.filter((p) => plots.includes(p.file))
    .map((p) => `<figure><img src="${esc(encodeURIComponent(card.name))}/plots/${esc(p.file)}" alt="${esc(p.caption)}" style="max-width:100%"><figcaption>${esc(p.caption)}</figcaption></figure>`).join('\n');
  if (!summary && !figures) return '';
  return `<h2>Cross-validation and plots</h2>\n${summary}\n${figures}`;
}

/** A self-contained HTML page (no scripts, no external assets but the model's own plots). */
export function renderModelCardHtml(card: ModelCard, plots: readonly string[] = []): string {
  const d = card.data;
  const metrics = card.metrics
    ? `<p>Split: ${esc(card.metrics.split)}</p><table><tr><th>model</th><th>Jaccard</th><th>F1</th><th>PRAUC</th><th>DDI rate</th><th>avg. classes</th></tr>${metricsRows('student', card.metrics.student)}${Object.entries(card.metrics.baselines ?? {}).map(([k, v]) => metricsRows(k, v)).join('')}</table>`
    : '<p>No evaluation metrics were recorded for this model.</p>';
  const teacher = card.provenance.teacher
    ? `${esc(card.provenance.teacher.backend)} ${esc(card.provenance.teacher.model)} (feature dim ${esc(card.provenance.teacher.dim)}, alpha ${esc(card.provenance.teacher.alpha)})`
    : 'none — this student was trained without an LLM teacher (no distillation)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model card: ${esc(card.name)} ${esc(card.version)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style></head>
<body>
<h1>${esc(card.name)} <small>${esc(card.version)}</small></h1>
<p>Created ${esc(card.createdAt)}. Recommends ATC level-3 medication classes (${esc(card.labels)} classes) for the current visit.</p>
<h2>Provenance</h2>
<ul><li>${esc(card.provenance.method)}</li><li>Teacher: ${teacher}</li>
<li>Parameters: ${esc(card.provenance.parameters?.total)} (inference ${esc(card.provenance.parameters?.inference)})</li>
<li>ONNX sha256: <code>${esc(card.provenance.onnxSha256)}</code>; vocabulary sha256: <code>${esc(card.provenance.vocabHash)}</code></li></ul>
<h2>Population</h2>
<p>${esc(card.population)}</p>
<h2>Data</h2>
<ul><li>Dataset: ${esc(d?.dataset)}${d?.datasetDescription ? ` — ${esc(d.datasetDescription)}` : ''}</li><li>Scale: ${esc(d?.scale)}</li>
<li>Samples: train ${esc(d?.samples?.train)}, validation ${esc(d?.samples?.val)}, test ${esc(d?.samples?.test)}</li>
<li>Epochs: ${esc(d?.epochs)} (best ${esc(d?.bestEpoch)}), seed ${esc(d?.seed)}</li>
${d?.licence ? `<li>Licence: ${esc(d.licence)}</li>` : ''}${d?.attribution ? `<li>Attribution: ${esc(d.attribution)}</li>` : ''}</ul>
<h2>Metrics</h2>
${metrics}
${crossValidationSection(card, plots)}
<h2>Threshold</h2>
<p>${esc(card.threshold.value)} (${esc(card.threshold.source)})</p>
<h2>Limits</h2>
<ul>${card.limits.map((l) => `<li>${esc(l)}</li>`).join('') || '<li>None recorded.</li>'}</ul>
<h2>Evidence</h2>
<p>${esc(card.evidence)}</p>
</body></html>
`;
}

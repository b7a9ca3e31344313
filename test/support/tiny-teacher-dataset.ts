/**
 * A small synthetic dataset folder following training/dataset.schema.ts, for the teacher tests
 * when the golden dataset (test/golden/dataset) is not there. Prompts follow LEADER's template
 * (leader.md §2); labels depend on the diagnoses, so a head on teacher features has signal to learn.
 */
import { sha256Hex } from '../../src/common/sha256';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATASET_SCHEMA_VERSION, type DatasetManifest, type DatasetSample, type DatasetVocab, type SplitName } from '../../src/training/dataset.schema';
import { mulberry32 } from '../../src/common/random';

const DIAGNOSES = [
  ['icd10cm:I10', 'essential hypertension'], ['icd10cm:E11.9', 'type 2 diabetes mellitus without complications'],
  ['icd10cm:J18.9', 'pneumonia, unspecified organism'], ['icd10cm:N17.9', 'acute kidney failure, unspecified'],
  ['icd10cm:I48.91', 'unspecified atrial fibrillation'], ['icd10cm:F32.9', 'major depressive disorder, single episode'],
] as const;
const PROCEDURES = [['icd10pcs:5A1955Z', 'respiratory ventilation'], ['icd10pcs:02HV33Z', 'insertion of infusion device']] as const;
/** Label m is prescribed when diagnosis m is present (plus noise). */
const LABELS = [['C09A', 'ace inhibitors, plain'], ['A10B', 'blood glucose lowering drugs, excl. insulins'], ['J01D', 'other beta-lactam antibacterials'],
  ['C03C', 'high-ceiling diuretics'], ['B01A', 'antithrombotic agents'], ['N06A', 'antidepressants']] as const;


export function writeTinyTeacherDataset(dir: string, options: { samples?: number; seed?: number } = {}): { dir: string; samples: DatasetSample[] } {
  const n = options.samples ?? 30;
  const rand = mulberry32(options.seed ?? 1);
  // Token layout of leader/tensors/vocabulary.ts: [PAD], one `atc3:` token per label (id = 1 + label), then codes.
  const tokens = ['[PAD]', ...LABELS.map((l) => `atc3:${l[0]}`), ...DIAGNOSES.map((d) => d[0]), ...PROCEDURES.map((p) => p[0])];
  const vocab: DatasetVocab = {
    tokens, labels: LABELS.map((l) => l[0]), labelNames: Object.fromEntries(LABELS),
    profileFields: ['gender'], profileValues: { gender: ['<unk>', 'F', 'M'] },
  };
  const samples: DatasetSample[] = [];
  const nTrain = Math.round(n * 0.8);
  const nVal = Math.round(n * 0.1);
  for (let i = 0; i < n; i++) {
    const dx = DIAGNOSES.map((_, k) => k).filter(() => rand() < 0.35);
    if (dx.length === 0) dx.push(Math.floor(rand() * DIAGNOSES.length));
    const px = PROCEDURES.map((_, k) => k).filter(() => rand() < 0.4);
    const labels = [...new Set([...dx.filter(() => rand() < 0.9), ...(rand() < 0.15 ? [Math.floor(rand() * LABELS.length)] : [])])].sort((a, b) => a - b);
    if (labels.length === 0) labels.push(dx[0]);
    const history = rand() < 0.5 ? 1 : 0;
    const dxText = dx.map((k) => DIAGNOSES[k][1]).join(', ');
    const pxText = px.map((k) => PROCEDURES[k][1]).join(', ');
    const hist = history ? `In 1 visit, the patient had diagnosis: ${dxText}; procedures: ${pxText}. The patient was prescribed drugs: ${LABELS[labels[0]][1]}. \n` : '';
    const prompt = `The patient has ${history} times ICU visits. \n ${hist} In this visit, he has diagnosis: ${dxText}; procedures: ${pxText}. Then, the patient should be prescribed: `;
    const split: SplitName = i < nTrain ? 'train' : i < nTrain + nVal ? 'val' : 'test';
    const visitDiag = dx.map((k) => 1 + LABELS.length + k);
    const visitProc = px.map((k) => 1 + LABELS.length + DIAGNOSES.length + k);
    samples.push({
      id: `p${String(i).padStart(3, '0')}`, patientId: `p${String(i).padStart(3, '0')}`, split, visitCount: 1 + history, prompt,
      labels, labelCodes: labels.map((k) => LABELS[k][0]),
      student: {
        diag: history ? [visitDiag, visitDiag] : [visitDiag], proc: history ? [visitProc, visitProc] : [visitProc],
        med: history ? [[], [1 + labels[0]]] : [[]], profile: [1 + (i % 2)],
      },
    });
  }
  const vocabJson = JSON.stringify(vocab);
  const count = (s: SplitName) => samples.filter((x) => x.split === s).length;
  const manifest: DatasetManifest = {
    schemaVersion: DATASET_SCHEMA_VERSION, createdAt: '2024-01-01T00:00:00.000Z',
    source: { location: 'synthetic', kind: 'ndjson', description: 'tiny synthetic teacher test dataset' }, provenance: {},
    options: { perVisit: false, seed: options.seed ?? 1, topMeds: null, promptMode: 'fixed', maxVisits: 10, minVisits: 1 },
    counts: { patients: n, samples: n, train: count('train'), val: count('val'), test: count('test'), labels: LABELS.length, tokens: tokens.length, skipped: {} },
    vocabHash: sha256Hex(vocabJson),
  };
  mkdirSync(path.join(dir, 'splits'), { recursive: true });
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(dir, 'vocab.json'), vocabJson);
  writeFileSync(path.join(dir, 'ddi.json'), JSON.stringify({ labels: vocab.labels, pairs: [[0, 3]], source: 'synthetic' }));
  writeFileSync(path.join(dir, 'samples.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  for (const s of ['train', 'val', 'test'] as SplitName[]) writeFileSync(path.join(dir, 'splits', `${s}.txt`), samples.filter((x) => x.split === s).map((x) => x.id).join('\n') + '\n');
  return { dir, samples };
}

"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.writeTinyTeacherDataset = writeTinyTeacherDataset;
/**
 * A small synthetic dataset folder following training/dataset.schema.ts, for the teacher tests
 * when the golden dataset (test/golden/dataset) is not there. Prompts follow LEADER's template
 * (leader.md §2); labels depend on the diagnoses, so a head on teacher features has signal to learn.
 */
const node_crypto_1 = require("node:crypto");
const node_fs_1 = require("node:fs");
const path = __importStar(require("node:path"));
const dataset_schema_1 = require("../../src/training/dataset.schema");
const DIAGNOSES = [
    ['icd10cm:I10', 'essential hypertension'], ['icd10cm:E11.9', 'type 2 diabetes mellitus without complications'],
    ['icd10cm:J18.9', 'pneumonia, unspecified organism'], ['icd10cm:N17.9', 'acute kidney failure, unspecified'],
    ['icd10cm:I48.91', 'unspecified atrial fibrillation'], ['icd10cm:F32.9', 'major depressive disorder, single episode'],
];
const PROCEDURES = [['icd10pcs:5A1955Z', 'respiratory ventilation'], ['icd10pcs:02HV33Z', 'insertion of infusion device']];
/** Label m is prescribed when diagnosis m is present (plus noise). */
const LABELS = [['C09A', 'ace inhibitors, plain'], ['A10B', 'blood glucose lowering drugs, excl. insulins'], ['J01D', 'other beta-lactam antibacterials'],
    ['C03C', 'high-ceiling diuretics'], ['B01A', 'antithrombotic agents'], ['N06A', 'antidepressants']];
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
function writeTinyTeacherDataset(dir, options = {}) {
    const n = options.samples ?? 30;
    const rand = prng(options.seed ?? 1);
    // Token layout of leader/tensors/vocabulary.ts: [PAD], one `atc3:` token per label (id = 1 + label), then codes.
    const tokens = ['[PAD]', ...LABELS.map((l) => `atc3:${l[0]}`), ...DIAGNOSES.map((d) => d[0]), ...PROCEDURES.map((p) => p[0])];
    const vocab = {
        tokens, labels: LABELS.map((l) => l[0]), labelNames: Object.fromEntries(LABELS),
        profileFields: ['gender'], profileValues: { gender: ['<unk>', 'F', 'M'] },
    };
    const samples = [];
    const nTrain = Math.round(n * 0.8);
    const nVal = Math.round(n * 0.1);
    for (let i = 0; i < n; i++) {
        const dx = DIAGNOSES.map((_, k) => k).filter(() => rand() < 0.35);
        if (dx.length === 0)
            dx.push(Math.floor(rand() * DIAGNOSES.length));
        const px = PROCEDURES.map((_, k) => k).filter(() => rand() < 0.4);
        const labels = [...new Set([...dx.filter(() => rand() < 0.9), ...(rand() < 0.15 ? [Math.floor(rand() * LABELS.length)] : [])])].sort((a, b) => a - b);
        if (labels.length === 0)
            labels.push(dx[0]);
        const history = rand() < 0.5 ? 1 : 0;
        const dxText = dx.map((k) => DIAGNOSES[k][1]).join(', ');
        const pxText = px.map((k) => PROCEDURES[k][1]).join(', ');
        const hist = history ? `In 1 visit, the patient had diagnosis: ${dxText}; procedures: ${pxText}. The patient was prescribed drugs: ${LABELS[labels[0]][1]}. \n` : '';
        const prompt = `The patient has ${history} times ICU visits. \n ${hist} In this visit, he has diagnosis: ${dxText}; procedures: ${pxText}. Then, the patient should be prescribed: `;
        const split = i < nTrain ? 'train' : i < nTrain + nVal ? 'val' : 'test';
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
    const count = (s) => samples.filter((x) => x.split === s).length;
    const manifest = {
        schemaVersion: dataset_schema_1.DATASET_SCHEMA_VERSION, createdAt: '2024-01-01T00:00:00.000Z',
        source: { location: 'synthetic', kind: 'ndjson', description: 'tiny synthetic teacher test dataset' }, provenance: {},
        options: { perVisit: false, seed: options.seed ?? 1, topMeds: null, promptMode: 'fixed', maxVisits: 10, minVisits: 1 },
        counts: { patients: n, samples: n, train: count('train'), val: count('val'), test: count('test'), labels: LABELS.length, tokens: tokens.length, skipped: {} },
        vocabHash: (0, node_crypto_1.createHash)('sha256').update(vocabJson).digest('hex'),
    };
    (0, node_fs_1.mkdirSync)(path.join(dir, 'splits'), { recursive: true });
    (0, node_fs_1.writeFileSync)(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    (0, node_fs_1.writeFileSync)(path.join(dir, 'vocab.json'), vocabJson);
    (0, node_fs_1.writeFileSync)(path.join(dir, 'ddi.json'), JSON.stringify({ labels: vocab.labels, pairs: [[0, 3]], source: 'synthetic' }));
    (0, node_fs_1.writeFileSync)(path.join(dir, 'samples.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    for (const s of ['train', 'val', 'test'])
        (0, node_fs_1.writeFileSync)(path.join(dir, 'splits', `${s}.txt`), samples.filter((x) => x.split === s).map((x) => x.id).join('\n') + '\n');
    return { dir, samples };
}
//# sourceMappingURL=tiny-teacher-dataset.js.map
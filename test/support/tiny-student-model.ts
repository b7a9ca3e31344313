/**
 * A tiny, hand-weighted LEADER-shaped ONNX model folder (manifest.json, model.onnx, vocab.json,
 * ddi.json), built with Debian's python3-onnx: probs = sigmoid(presence(diag tokens) · W + b), so a
 * test knows exactly which code drives which class. Same inputs and outputs as the real student.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Vocabulary } from '../../src/leader/tensors/vocabulary';
import { MODEL_MANIFEST_SCHEMA_VERSION } from '../../src/inference/model-manifest.types';

const PYTHON = `
import json, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
spec = json.loads(sys.argv[1])
T, M = spec['tokens'], spec['labels']
W = np.array(spec['weights'], dtype=np.float32).reshape(T, M)
b = np.array(spec['bias'], dtype=np.float32)
inp = lambda n, t, dims: helper.make_tensor_value_info(n, t, dims)
nodes = [
  helper.make_node('OneHot', ['diag', 'depth', 'onehot_values'], ['onehot'], axis=-1),
  helper.make_node('ReduceMax', ['onehot'], ['present'], axes=[1, 2], keepdims=0),
  helper.make_node('MatMul', ['present', 'W'], ['logits0']),
  helper.make_node('Add', ['logits0', 'b'], ['logits']),
  helper.make_node('Sigmoid', ['logits'], ['probs']),
  helper.make_node('MatMul', ['present', 'H'], ['hidden']),
]
inits = [
  numpy_helper.from_array(np.array(T, dtype=np.int64), 'depth'),
  numpy_helper.from_array(np.array([0, 1], dtype=np.float32), 'onehot_values'),
  numpy_helper.from_array(W, 'W'), numpy_helper.from_array(b, 'b'),
  numpy_helper.from_array(np.zeros((T, 128), dtype=np.float32), 'H'),
]
graph = helper.make_graph(nodes, 'tiny-student', [
  inp('diag', TensorProto.INT64, ['B', 'V', 'Kd']), inp('proc', TensorProto.INT64, ['B', 'V', 'Kp']),
  inp('med', TensorProto.INT64, ['B', 'V', 'Km']), inp('visit_mask', TensorProto.FLOAT, ['B', 'V']),
  inp('profile', TensorProto.INT64, ['B', 'F']),
], [inp('probs', TensorProto.FLOAT, ['B', M]), inp('hidden', TensorProto.FLOAT, ['B', 128])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, spec['out'])
`;

export interface TinyStudentSpec {
  labels: string[];
  labelNames?: Record<string, string>;
  /** Diagnosis / procedure tokens after the medication tokens. */
  codeTokens: string[];
  /** Logit weight of a token for a label: weights[token][label]. */
  weights: Record<string, Record<string, number>>;
  /** Logit bias per label (default -2). */
  bias?: Record<string, number>;
  threshold?: number;
}

/** Writes the model folder and returns it. */
export async function writeTinyStudentModel(dir: string, spec: TinyStudentSpec): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const tokens = ['[PAD]', ...spec.labels.map((l) => `atc3:${l}`), ...spec.codeTokens];
  const vocabJson = {
    tokens, labels: spec.labels, labelNames: spec.labelNames ?? {},
    profileFields: ['gender', 'ageGroup', 'admissionType', 'insurance', 'language', 'maritalStatus', 'race'],
    profileValues: Object.fromEntries(['gender', 'ageGroup', 'admissionType', 'insurance', 'language', 'maritalStatus', 'race'].map((f) => [f, ['<unk>']])),
  };
  const vocab = Vocabulary.fromJSON(vocabJson);
  await fs.writeFile(path.join(dir, 'vocab.json'), vocab.serialize());
  const weights = tokens.flatMap((t) => spec.labels.map((l) => spec.weights[t]?.[l] ?? 0));
  const bias = spec.labels.map((l) => spec.bias?.[l] ?? -2);
  execFileSync('/usr/bin/python3', ['-c', PYTHON, JSON.stringify({ tokens: tokens.length, labels: spec.labels.length, weights, bias, out: path.join(dir, 'model.onnx') })]);
  await fs.writeFile(path.join(dir, 'ddi.json'), JSON.stringify({ labels: spec.labels, pairs: [], source: 'none (test)' }));
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const manifest = {
    schemaVersion: MODEL_MANIFEST_SCHEMA_VERSION, name: 'tiny-student', version: '0.0.1', createdAt: '2026-01-01T00:00:00Z', datasetSchemaVersion: 1,
    files: { onnx: 'model.onnx', vocab: 'vocab.json', ddi: 'ddi.json' },
    vocabHash: sha(await fs.readFile(path.join(dir, 'vocab.json'))), onnxSha256: sha(await fs.readFile(path.join(dir, 'model.onnx'))),
    ddiSha256: sha(await fs.readFile(path.join(dir, 'ddi.json'))),
    labels: spec.labels, labelNames: spec.labelNames ?? {}, threshold: spec.threshold ?? 0.5, thresholdSource: 'test',
    io: { inputs: ['diag', 'proc', 'med', 'visit_mask', 'profile'], outputs: ['probs', 'hidden'], opset: 17, hiddenSize: 128, maxVisits: 10 },
    architecture: {}, parameters: { total: weights.length, inference: weights.length },
    training: { dataset: 'hand-weighted (test)', scale: 'test model', epochs: 0, bestEpoch: 0, seed: 0, samples: { train: 0, val: 0, test: 0 } },
    teacher: null, metrics: null, limits: ['test model'],
  };
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return dir;
}

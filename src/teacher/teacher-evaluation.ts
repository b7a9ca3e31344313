/**
 * The teacher row of `leader evaluate`: the teacher head (trainer/leader_trainer/teacher_head.py,
 * Linear(dim → |M|) + sigmoid in ONNX) applied to cached teacher features through onnxruntime-node,
 * thresholded at 0.5 like LEADER's teacher. This is the frozen-LLM variant of LEADER(T); see README.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CliError } from '../common/cli-error';
import { readTeacherFeatures } from './feature-cache';

export const TEACHER_HEAD_KIND = 'teacher-head';

export interface TeacherHeadManifest {
  kind: typeof TEACHER_HEAD_KIND;
  schemaVersion: 1;
  createdAt: string;
  variant: string;
  files: { onnx: string };
  onnxSha256: string;
  io: { inputs: ['features']; outputs: ['probs']; opset: number };
  teacher: { backend: string; model: string; modelSha256?: string; pooling?: string; promptMode?: string; dim: number; featuresFile: string };
  dim: number;
  labels: string[];
  vocabHash: string;
  threshold: number;
  thresholdSource: string;
  parameters: { head: number };
  training: Record<string, unknown>;
  metrics: Record<string, Record<string, number>>;
}

export interface TeacherPredictions {
  manifest: TeacherHeadManifest;
  /** [sampleIds.length, labels] row-major sigmoid probabilities. */
  probs: Float32Array;
  labelCount: number;
  threshold: number;
}

export async function readTeacherHeadManifest(headDir: string): Promise<TeacherHeadManifest> {
  const file = path.join(headDir, 'manifest.json');
  let manifest: TeacherHeadManifest;
  try {
    manifest = JSON.parse(await fs.readFile(file, 'utf8')) as TeacherHeadManifest;
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (train one with python3 -m trainer.leader_trainer.teacher_head)' : 'not valid JSON'}`);
  }
  if (manifest.kind !== TEACHER_HEAD_KIND) throw new CliError(`${file}: kind is ${JSON.stringify(manifest.kind)}, expected "${TEACHER_HEAD_KIND}"`);
  return manifest;
}

/**
 * Teacher probabilities for `sampleIds` (in that order). The features must come from the same
 * teacher the head was trained on (same model hash and dimension), and hold a row for every sample.
 */
export async function predictTeacherHead(headDir: string, featuresFile: string, sampleIds: readonly string[], batchSize = 256): Promise<TeacherPredictions> {
  const manifest = await readTeacherHeadManifest(headDir);
  const features = await readTeacherFeatures(featuresFile);
  const { index } = features;
  if (index.dim !== manifest.dim) throw new CliError(`${featuresFile}: features have dim ${index.dim}, teacher head ${headDir} expects ${manifest.dim}`);
  if (manifest.teacher.modelSha256 && index.modelSha256 !== manifest.teacher.modelSha256) {
    throw new CliError(`${featuresFile}: computed with ${index.model} (sha256 ${index.modelSha256.slice(0, 12)}…), teacher head ${headDir} was trained on ${manifest.teacher.model} (sha256 ${manifest.teacher.modelSha256.slice(0, 12)}…)`);
  }
  const missing = sampleIds.filter((id) => features.rowOf(id) === undefined);
  if (missing.length) throw new CliError(`${featuresFile}: ${missing.length} of ${sampleIds.length} samples have no teacher features (first: "${missing[0]}"); run \`leader teacher\` for these splits`);
  const onnxFile = path.join(headDir, manifest.files.onnx);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(await fs.readFile(onnxFile), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    throw new CliError(`${onnxFile}: onnxruntime cannot load it (${(e as Error).message.split('\n')[0]})`);
  }
  const M = manifest.labels.length;
  const dim = manifest.dim;
  const probs = new Float32Array(sampleIds.length * M);
  try {
    for (let start = 0; start < sampleIds.length; start += batchSize) {
      const ids = sampleIds.slice(start, start + batchSize);
      const input = new Float32Array(ids.length * dim);
      ids.forEach((id, r) => input.set(features.matrix.subarray(features.rowOf(id)! * dim, (features.rowOf(id)! + 1) * dim), r * dim));
      const out = await session.run({ features: new ort.Tensor('float32', input, [ids.length, dim]) });
      const p = out.probs;
      if (!p || p.dims.length !== 2 || p.dims[1] !== M) throw new CliError(`${onnxFile}: output probs has dims [${p?.dims.join(', ')}], expected [${ids.length}, ${M}]`);
      probs.set(p.data as Float32Array, start * M);
    }
  } finally {
    await session.release();
  }
  return { manifest, probs, labelCount: M, threshold: manifest.threshold };
}

/**
 * The served LEADER student: one onnxruntime-node session over models/<name>/model.onnx, loaded only
 * after the folder proves it is complete and consistent (manifest schema, file hashes, ONNX I/O
 * names). Used by the CDS service, `leader evaluate` and the bench, so all three run the same path.
 */
import { sha256File, sha256Hex } from '../common/sha256';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { VocabularyJson } from '../leader/tensors/vocabulary';
import { STUDENT_INPUT_NAMES, STUDENT_OUTPUT_NAMES, type StudentBatch } from '../leader/tensors/student-input.types';
import { MODEL_MANIFEST_SCHEMA_VERSION, type ModelManifest } from './model-manifest.types';
import { applyTemperature, temperatureOf } from './calibration';

/** vocab.json of a model: the dataset's (leader/tensors/vocabulary.ts VocabularyJson). */
export type ModelVocab = VocabularyJson;

/** ddi.json of a model: the same shape as training/dataset.schema.ts DatasetDdi. */
export interface ModelDdi {
  labels: string[];
  pairs: [number, number][];
  source: string;
}

/** Why a model folder cannot be served; the message is one line and names the file at fault. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export interface StudentModelOptions {
  /** onnxruntime intra-op threads (default 1: the service runs many small requests, not one big one). */
  intraOpNumThreads?: number;
}

export interface StudentPrediction {
  /** [batchSize, labels] calibrated probabilities (sigmoid, then the manifest's temperature), row-major. */
  probs: Float32Array;
  /** [batchSize, hiddenSize] pre-ReLU head layer. */
  hidden: Float32Array;
  batchSize: number;
  labels: number;
}

/** Hashes may be written bare or as `sha256:<hex>`. */
export function normaliseSha256(value: unknown): string {
  const s = String(value ?? '').trim().toLowerCase();
  return s.startsWith('sha256:') ? s.slice('sha256:'.length) : s;
}

async function readJson<T>(file: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelLoadError(`${file}: ${code === 'ENOENT' ? 'missing' : `unreadable (${code})`} (${what})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ModelLoadError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

function checkManifest(m: ModelManifest, file: string): void {
  if (!m || typeof m !== 'object') throw new ModelLoadError(`${file}: not a JSON object`);
  if (m.schemaVersion !== MODEL_MANIFEST_SCHEMA_VERSION) {
    throw new ModelLoadError(`${file}: schemaVersion ${JSON.stringify(m.schemaVersion)}, this service reads ${MODEL_MANIFEST_SCHEMA_VERSION}`);
  }
  for (const key of ['name', 'version', 'vocabHash', 'onnxSha256', 'ddiSha256'] as const) {
    if (typeof m[key] !== 'string' || !m[key]) throw new ModelLoadError(`${file}: '${key}' missing`);
  }
  if (!m.files || typeof m.files.onnx !== 'string' || typeof m.files.vocab !== 'string' || typeof m.files.ddi !== 'string') {
    throw new ModelLoadError(`${file}: 'files' must name onnx, vocab and ddi`);
  }
  if (!Array.isArray(m.labels) || m.labels.length === 0) throw new ModelLoadError(`${file}: 'labels' missing or empty`);
  if (typeof m.threshold !== 'number' || !(m.threshold > 0 && m.threshold < 1)) {
    throw new ModelLoadError(`${file}: 'threshold' must be a number in (0, 1)`);
  }
  try {
    temperatureOf(m.calibration);
  } catch (e) {
    throw new ModelLoadError(`${file}: ${(e as Error).message}`);
  }
}

export class StudentModel {
  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly vocab: ModelVocab,
    readonly ddi: ModelDdi,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Load and verify a model folder; every failure is a ModelLoadError naming the file. */
  static async load(dir: string, opts: StudentModelOptions = {}): Promise<StudentModel> {
    const root = path.resolve(dir);
    const manifestFile = path.join(root, 'manifest.json');
    const manifest = await readJson<ModelManifest>(manifestFile, 'model manifest');
    checkManifest(manifest, manifestFile);

    const onnxFile = path.join(root, manifest.files.onnx);
    const vocabFile = path.join(root, manifest.files.vocab);
    const ddiFile = path.join(root, manifest.files.ddi);
    let onnxBytes: Buffer;
    try {
      onnxBytes = await fs.readFile(onnxFile);
    } catch (e) {
      throw new ModelLoadError(`${onnxFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'} (ONNX model named by ${manifestFile})`);
    }
    const onnxSha = sha256Hex(onnxBytes);
    if (onnxSha !== normaliseSha256(manifest.onnxSha256)) {
      throw new ModelLoadError(`${onnxFile}: sha256 ${onnxSha.slice(0, 12)}… does not match manifest onnxSha256 ${normaliseSha256(manifest.onnxSha256).slice(0, 12)}… (corrupt or replaced model file)`);
    }
    const vocab = await readJson<ModelVocab>(vocabFile, 'model vocabulary');
    const vocabSha = await sha256File(vocabFile);
    if (vocabSha !== normaliseSha256(manifest.vocabHash)) {
      throw new ModelLoadError(`${vocabFile}: sha256 ${vocabSha.slice(0, 12)}… does not match manifest vocabHash ${normaliseSha256(manifest.vocabHash).slice(0, 12)}…`);
    }
    if (!Array.isArray(vocab.tokens) || !Array.isArray(vocab.labels) || !Array.isArray(vocab.profileFields)) {
      throw new ModelLoadError(`${vocabFile}: not a LEADER vocabulary (tokens, labels, profileFields)`);
    }
    if (vocab.labels.length !== manifest.labels.length || vocab.labels.some((l, i) => l !== manifest.labels[i])) {
      throw new ModelLoadError(`${vocabFile}: labels differ from ${manifestFile} labels`);
    }
    const ddi = await readJson<ModelDdi>(ddiFile, 'DDI pairs');
    const ddiSha = await sha256File(ddiFile);
    if (ddiSha !== normaliseSha256(manifest.ddiSha256)) {
      throw new ModelLoadError(`${ddiFile}: sha256 ${ddiSha.slice(0, 12)}… does not match manifest ddiSha256 ${normaliseSha256(manifest.ddiSha256).slice(0, 12)}… (corrupt or replaced DDI pairs)`);
    }
    if (!Array.isArray(ddi.pairs)) throw new ModelLoadError(`${ddiFile}: 'pairs' missing`);

    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(onnxBytes, {
        intraOpNumThreads: opts.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (e) {
      throw new ModelLoadError(`${onnxFile}: onnxruntime cannot load it (${(e as Error).message.split('\n')[0]})`);
    }
    const inputs = [...session.inputNames].sort();
    const outputs = [...session.outputNames];
    const wantIn = [...STUDENT_INPUT_NAMES].sort();
    if (inputs.join() !== wantIn.join()) {
      throw new ModelLoadError(`${onnxFile}: inputs [${session.inputNames.join(', ')}], expected [${STUDENT_INPUT_NAMES.join(', ')}]`);
    }
    if (!STUDENT_OUTPUT_NAMES.every((n) => outputs.includes(n))) {
      throw new ModelLoadError(`${onnxFile}: outputs [${outputs.join(', ')}], expected [${STUDENT_OUTPUT_NAMES.join(', ')}]`);
    }
    return new StudentModel(root, manifest, vocab, ddi, session);
  }

  get labelCount(): number {
    return this.manifest.labels.length;
  }

  /** Temperature applied to every probability (1 = uncalibrated); the threshold was chosen after it. */
  get temperature(): number {
    return temperatureOf(this.manifest.calibration);
  }

  /** Decision threshold on the calibrated probs (from the manifest, chosen on validation by the trainer). */
  get threshold(): number {
    return this.manifest.threshold;
  }

  async predict(batch: StudentBatch): Promise<StudentPrediction> {
    const feeds: Record<string, ort.Tensor> = {
      diag: new ort.Tensor('int64', batch.diag.data, batch.diag.dims),
      proc: new ort.Tensor('int64', batch.proc.data, batch.proc.dims),
      med: new ort.Tensor('int64', batch.med.data, batch.med.dims),
      visit_mask: new ort.Tensor('float32', batch.visitMask.data, batch.visitMask.dims),
      profile: new ort.Tensor('int64', batch.profile.data, batch.profile.dims),
    };
    const out = await this.session.run(feeds);
    const probs = out.probs;
    const hidden = out.hidden;
    const labels = this.labelCount;
    if (!probs || probs.dims.length !== 2 || probs.dims[0] !== batch.batchSize || probs.dims[1] !== labels) {
      throw new Error(`model ${this.manifest.name}: probs has shape [${probs?.dims.join(', ')}], expected [${batch.batchSize}, ${labels}]`);
    }
    return { probs: applyTemperature(probs.data as Float32Array, this.temperature), hidden: hidden.data as Float32Array, batchSize: batch.batchSize, labels };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { CliError } from '../common/cli-error';
import { Vocabulary, VocabularyError } from '../leader/tensors/vocabulary';
import { DATASET_SCHEMA_VERSION, type DatasetDdi, type DatasetManifest, type DatasetSample, type SplitName } from './dataset.schema';
import { SPLIT_NAMES, comparePatientIds, visitIndexOfId } from './splits';
import { countsOf } from './dataset.builder';
import { isRecord } from '../common/is-record';

/** A dataset folder read back and checked field by field (dataset.schema.ts). */
export interface LoadedDataset {
  dir: string;
  manifest: DatasetManifest;
  vocab: Vocabulary;
  ddi: DatasetDdi;
  /** In file (id) order. */
  samples: DatasetSample[];
  splits: Record<SplitName, string[]>;
}

/**
 * Read a folder written by `leader dataset`. Refuses, with a CliError naming the file (and line), a
 * missing folder or file, another schemaVersion, a vocab.json whose sha256 differs from the
 * manifest's vocabHash, and any sample field out of range; so a reader never trains or evaluates on
 * a half-written or foreign folder.
 */
export async function readDataset(dir: string): Promise<LoadedDataset> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new CliError(`dataset ${dir}: no such folder`);
  const manifestFile = path.join(dir, 'manifest.json');
  const manifestText = await readRequired(manifestFile, 'not a dataset folder written by `leader dataset`, or an incomplete one');
  const manifest = checkManifest(parseJson(manifestFile, manifestText), manifestFile);

  const vocabFile = path.join(dir, 'vocab.json');
  const vocabText = await readRequired(vocabFile);
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.fromJSON(parseJson(vocabFile, vocabText), vocabFile);
  } catch (e) {
    if (e instanceof VocabularyError) throw new CliError(e.message);
    throw e;
  }
  const vocabHash = createHash('sha256').update(vocabText, 'utf8').digest('hex');
  if (vocabHash !== manifest.vocabHash) throw new CliError(`${vocabFile}: sha256 ${vocabHash} differs from manifest.json vocabHash ${manifest.vocabHash} (files from different runs?)`);

  const ddiFile = path.join(dir, 'ddi.json');
  const ddi = checkDdi(parseJson(ddiFile, await readRequired(ddiFile)), ddiFile, vocab);

  const samplesFile = path.join(dir, 'samples.jsonl');
  if (!(await fs.stat(samplesFile).catch(() => undefined))) throw new CliError(`${samplesFile}: missing`);
  const samples: DatasetSample[] = [];
  const ids = new Set<string>();
  let previous: DatasetSample | undefined;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(samplesFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line === '') throw new CliError(`${samplesFile}:${lineNo}: empty line`);
    const where = `${samplesFile}:${lineNo}`;
    const sample = checkSample(parseJson(where, line), where, manifest, vocab);
    if (ids.has(sample.id)) throw new CliError(`${where}: duplicate sample id "${sample.id}"`);
    if (previous && compareSampleIds(previous, sample) >= 0) throw new CliError(`${where}: sample "${sample.id}" is out of id order (after "${previous.id}")`);
    ids.add(sample.id);
    samples.push(sample);
    previous = sample;
  }

  const splits = { train: [], val: [], test: [] } as Record<SplitName, string[]>;
  for (const name of SPLIT_NAMES) {
    const file = path.join(dir, 'splits', `${name}.txt`);
    const text = await readRequired(file);
    const listed = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    const expected = samples.filter((s) => s.split === name).map((s) => s.id);
    const mismatch = listed.findIndex((id, i) => id !== expected[i]);
    if (mismatch >= 0 || listed.length !== expected.length) {
      const at = mismatch >= 0 ? mismatch : Math.min(listed.length, expected.length);
      throw new CliError(`${file}:${at + 1}: lists "${listed[at] ?? '(end)'}" where samples.jsonl has "${expected[at] ?? '(end)'}" in split ${name}`);
    }
    splits[name] = listed;
  }

  const c = manifest.counts;
  const actual = countsOf(samples, splits, vocab);
  for (const [key, value] of Object.entries(actual)) {
    if (c[key as keyof typeof actual] !== value) throw new CliError(`${manifestFile}: counts.${key} is ${c[key as keyof typeof actual]} but the folder has ${value}`);
  }
  return { dir, manifest, vocab, ddi, samples, splits };
}

async function readRequired(file: string, hint?: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`${file}: missing${hint ? ` (${hint})` : ''}`);
    throw new CliError(`${file}: cannot be read (${(e as Error).message})`);
  }
}

function parseJson(where: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${where}: not valid JSON (${(e as Error).message})`);
  }
}

type Fail = (what: string) => never;
const failer = (where: string): Fail => (what) => {
  throw new CliError(`${where}: ${what}`);
};
function isCount(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}
function isCountRecord(v: unknown): v is Record<string, number> {
  return isRecord(v) && Object.values(v).every(isCount);
}

function checkManifest(value: unknown, file: string): DatasetManifest {
  const fail = failer(file);
  if (!isRecord(value)) return fail('not a JSON object');
  if (value.schemaVersion !== DATASET_SCHEMA_VERSION) {
    return fail(`schemaVersion ${JSON.stringify(value.schemaVersion)} is not supported (this build reads version ${DATASET_SCHEMA_VERSION}); rebuild the dataset with \`leader dataset\``);
  }
  const { createdAt, source, provenance, options, counts, vocabHash } = value;
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) fail('createdAt must be an ISO date-time');
  if (!isRecord(source) || typeof source.location !== 'string' || !['ndjson', 'bundles', 'fhir-server'].includes(source.kind as string)) {
    fail('source must be { location, kind: ndjson | bundles | fhir-server }');
  }
  if (!isRecord(provenance) || Object.values(provenance).some((v) => typeof v !== 'string')) fail('provenance must be an object of strings');
  if (!isRecord(options)) return fail('options missing');
  if (typeof options.perVisit !== 'boolean') fail('options.perVisit must be a boolean');
  if (!Number.isInteger(options.seed)) fail('options.seed must be an integer');
  if (options.topMeds !== null && !(isCount(options.topMeds) && options.topMeds > 0)) fail('options.topMeds must be null or a positive integer');
  if (options.promptMode !== 'fixed' && options.promptMode !== 'faithful') fail('options.promptMode must be fixed or faithful');
  if (!(isCount(options.maxVisits) && options.maxVisits > 0)) fail('options.maxVisits must be a positive integer');
  if (!(isCount(options.minVisits) && options.minVisits > 0)) fail('options.minVisits must be a positive integer');
  if (options.split !== undefined && options.split !== 'shuffle' && options.split !== 'sequential') fail('options.split must be shuffle or sequential');
  if (!isRecord(counts)) return fail('counts missing');
  for (const key of ['patients', 'samples', 'train', 'val', 'test', 'labels', 'tokens']) if (!isCount(counts[key])) fail(`counts.${key} must be a non-negative integer`);
  if (!isCountRecord(counts.skipped)) fail('counts.skipped must map reasons to counts');
  if (counts.dropped !== undefined && !isCountRecord(counts.dropped)) fail('counts.dropped must map reasons to counts');
  if (typeof vocabHash !== 'string' || !/^[0-9a-f]{64}$/.test(vocabHash)) fail('vocabHash must be a sha256 hex digest');
  return value as unknown as DatasetManifest;
}

function checkDdi(value: unknown, file: string, vocab: Vocabulary): DatasetDdi {
  const fail = failer(file);
  if (!isRecord(value)) return fail('not a JSON object');
  const { labels, pairs, source } = value;
  if (!Array.isArray(labels) || labels.length !== vocab.labels.length || labels.some((l, i) => l !== vocab.labels[i])) fail('labels differ from vocab.json labels');
  if (typeof source !== 'string') fail('source must be a string');
  if (!Array.isArray(pairs)) return fail('pairs must be an array');
  pairs.forEach((p, k) => {
    if (!Array.isArray(p) || p.length !== 2 || !isCount(p[0]) || !isCount(p[1]) || p[0] >= p[1] || p[1] >= vocab.labels.length) {
      fail(`pairs[${k}] must be [i, j] with 0 <= i < j < ${vocab.labels.length}`);
    }
  });
  return value as unknown as DatasetDdi;
}

function checkSample(value: unknown, where: string, manifest: DatasetManifest, vocab: Vocabulary): DatasetSample {
  const fail = failer(where);
  if (!isRecord(value)) return fail('not a JSON object');
  const { id, patientId, split, visitCount, prompt, labels, labelCodes, student } = value;
  if (typeof patientId !== 'string' || patientId === '') fail('patientId must be a non-empty string');
  const idPattern = manifest.options.perVisit ? /^(.+)#(\d+)$/ : /^(.+)$/;
  const idMatch = typeof id === 'string' ? idPattern.exec(id) : null;
  if (!idMatch || idMatch[1] !== patientId) fail(`id must be ${manifest.options.perVisit ? '"<patientId>#<visitIndex>"' : 'the patientId'}, got ${JSON.stringify(id)}`);
  if (!SPLIT_NAMES.includes(split as SplitName)) fail(`split must be train, val or test, got ${JSON.stringify(split)}`);
  if (!(isCount(visitCount) && visitCount >= 1 && visitCount <= manifest.options.maxVisits)) fail(`visitCount must be 1..${manifest.options.maxVisits}`);
  if (typeof prompt !== 'string' || prompt === '') fail('prompt must be a non-empty string');
  if (!Array.isArray(labels) || labels.length === 0) return fail('labels must be a non-empty array');
  labels.forEach((l, i) => {
    if (!isCount(l) || l >= vocab.labels.length) fail(`labels[${i}] = ${JSON.stringify(l)} is not a label index (0..${vocab.labels.length - 1})`);
    if (i > 0 && l <= labels[i - 1]) fail('labels must be sorted and unique');
  });
  if (!Array.isArray(labelCodes) || labelCodes.length !== labels.length || labelCodes.some((c, i) => c !== vocab.labels[labels[i]])) fail('labelCodes must be the codes of labels');
  if (!isRecord(student)) return fail('student missing');
  const n = visitCount as number;
  const checkSets = (name: string, min: number, max: number) => {
    const sets = student[name];
    if (!Array.isArray(sets) || sets.length !== n) fail(`student.${name} must have visitCount (${n}) visits`);
    (sets as unknown[]).forEach((set, v) => {
      if (!Array.isArray(set)) fail(`student.${name}[${v}] must be an array`);
      const seen = new Set<number>();
      (set as unknown[]).forEach((tokenId) => {
        if (!Number.isInteger(tokenId) || (tokenId as number) < min || (tokenId as number) > max) fail(`student.${name}[${v}] has ${JSON.stringify(tokenId)}, outside ${min}..${max}`);
        if (seen.has(tokenId as number)) fail(`student.${name}[${v}] repeats ${tokenId}`);
        seen.add(tokenId as number);
      });
    });
  };
  checkSets('diag', vocab.labels.length + 1, vocab.tokens.length - 1);
  checkSets('proc', vocab.labels.length + 1, vocab.tokens.length - 1);
  checkSets('med', 1, vocab.labels.length);
  if ((student.med as unknown[][])[0].length !== 0) fail('student.med[0] must be empty (the profile slot of the shifted history)');
  const profile = student.profile;
  if (!Array.isArray(profile) || profile.length !== vocab.profileFields.length) return fail(`student.profile must have ${vocab.profileFields.length} ids`);
  profile.forEach((p, f) => {
    const size = vocab.profileValues(vocab.profileFields[f]).length;
    if (!isCount(p) || p >= size) fail(`student.profile[${f}] (${vocab.profileFields[f]}) = ${JSON.stringify(p)} outside 0..${size - 1}`);
  });
  return value as unknown as DatasetSample;
}

/** Sample id order: patient id (comparePatientIds), then visit index. */
export function compareSampleIds(a: Pick<DatasetSample, 'id' | 'patientId'>, b: Pick<DatasetSample, 'id' | 'patientId'>): number {
  const byPatient = comparePatientIds(a.patientId, b.patientId);
  if (byPatient !== 0) return byPatient;
  return visitIndexOfId(a.id) - visitIndexOfId(b.id);
}

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError } from '../common/cli-error';
import { readDataset } from './dataset.reader';
import { DATASET_SCHEMA_VERSION } from './dataset.schema';
import { GOLDEN_DATASET_DIR } from '../../test/golden/golden-files';

describe(readDataset.name, () => {
  const sut = readDataset;
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-dataset-reader-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** A copy of the golden dataset with `edit` applied to one file. */
  async function tampered(name: string, file: string, edit: (text: string) => string | undefined): Promise<string> {
    const dir = path.join(tmp, name);
    await fs.cp(GOLDEN_DATASET_DIR, dir, { recursive: true });
    const target = path.join(dir, file);
    const text = edit(await fs.readFile(target, 'utf8'));
    if (text === undefined) await fs.rm(target);
    else await fs.writeFile(target, text);
    return dir;
  }

  it('reads the golden dataset back and every field is consistent', async () => {
    const ds = await sut(GOLDEN_DATASET_DIR);
    const { manifest, vocab, ddi, samples, splits } = ds;
    expect(manifest.schemaVersion).toBe(DATASET_SCHEMA_VERSION);
    expect(manifest.source).toEqual({ location: 'test/fixtures/patients', kind: 'bundles' });
    expect(manifest.options).toEqual({ perVisit: false, seed: 4, topMeds: null, promptMode: 'fixed', maxVisits: 10, minVisits: 1, split: 'shuffle' });
    expect(manifest.vocabHash).toBe(createHash('sha256').update(await fs.readFile(path.join(GOLDEN_DATASET_DIR, 'vocab.json'))).digest('hex'));
    expect(manifest.vocabHash).toBe(vocab.hash());
    expect(manifest.counts).toMatchObject({ patients: 5, samples: 5, train: 4, val: 0, test: 1, labels: vocab.labels.length, tokens: vocab.tokens.length });

    expect(vocab.tokens[0]).toBe('[PAD]');
    vocab.labels.forEach((atc3, i) => {
      expect(atc3).toMatch(/^[A-Z]\d\d[A-Z]$/);
      expect(vocab.tokens[i + 1]).toBe(`atc3:${atc3}`);
    });
    expect(vocab.tokens.slice(vocab.labels.length + 1).every((t) => /^(icd9cm|icd10cm|icd9pcs|icd10pcs|sct):\S+$/.test(t))).toBe(true);
    expect(vocab.profileFields).toEqual(['gender', 'ageGroup', 'admissionType', 'insurance', 'language', 'maritalStatus', 'race']);
    expect(Object.keys(vocab.labelNames).every((k) => vocab.labels.includes(k))).toBe(true);
    expect(ddi.labels).toEqual(vocab.labels);
    expect(ddi.pairs.length).toBeGreaterThan(0);

    expect(samples.map((s) => s.id)).toEqual(['7c1d2e3f-0000-4000-8000-000000000001', 'alice', 'bob', 'dave', 'erin']);
    expect(splits.train.length + splits.val.length + splits.test.length).toBe(samples.length);
    for (const s of samples) {
      expect(s.id).toBe(s.patientId);
      expect(splits[s.split]).toContain(s.id);
      expect(s.prompt).toMatch(/^The patient has \d+ times ICU visits\. \n [\s\S]* In this visit, the patient has diagnosis: [\s\S]*; procedures: [\s\S]*\. Then, the patient should be prescribed: $/);
      expect(Number(/has (\d+) times/.exec(s.prompt)![1]) + 1).toBeGreaterThanOrEqual(s.visitCount);
      expect(s.student.diag).toHaveLength(s.visitCount);
      expect(s.student.med[0]).toEqual([]);
      expect(s.labelCodes).toEqual(s.labels.map((i) => vocab.labels[i]));
    }
    const erin = samples.find((s) => s.id === 'erin')!;
    expect(erin.visitCount).toBe(10);
    const bob = samples.find((s) => s.id === 'bob')!;
    expect(bob.visitCount).toBe(1);
    expect(bob.prompt.startsWith('The patient has 0 times ICU visits. \n  In this visit')).toBe(true);
  });

  it.each([
    ['a missing folder', async () => path.join(tmp, 'nope'), /no such folder/],
    ['a folder without manifest', async () => tampered('no-manifest', 'manifest.json', () => undefined), /manifest\.json: missing \(not a dataset folder/],
    ['another schema version', async () => tampered('v2', 'manifest.json', (t) => t.replace('"schemaVersion": 1', '"schemaVersion": 2')), /schemaVersion 2 is not supported \(this build reads version 1\)/],
    ['a missing samples file', async () => tampered('no-samples', 'samples.jsonl', () => undefined), /samples\.jsonl: missing/],
    ['a missing split list', async () => tampered('no-split', 'splits/val.txt', () => undefined), /val\.txt: missing/],
    ['a vocabulary from another run', async () => tampered('vocab', 'vocab.json', (t) => t.replace('"[PAD]"', '"[PAD]" ')), /vocab\.json: sha256 [0-9a-f]+ differs from manifest\.json vocabHash/],
    ['a broken sample line', async () => tampered('broken', 'samples.jsonl', (t) => t.replace(/\n[^\n]+\n/, '\n{"id":\n')), /samples\.jsonl:2: not valid JSON/],
    ['a token id out of range', async () => tampered('range', 'samples.jsonl', (t) => t.replace('"diag":[[', '"diag":[[99999,')), /samples\.jsonl:1: student\.diag\[0\] has 99999, outside/],
    ['labels that do not match labelCodes', async () => tampered('codes', 'samples.jsonl', (t) => t.replace(/"labelCodes":\["[A-Z0-9]+"/, '"labelCodes":["Z99Z"')), /samples\.jsonl:1: labelCodes must be the codes of labels/],
    ['a split list that disagrees with the samples', async () => tampered('split', 'splits/train.txt', (t) => t.split('\n').reverse().join('\n')), /train\.txt:1: lists/],
    ['wrong counts', async () => tampered('counts', 'manifest.json', (t) => t.replace('"samples": 5', '"samples": 6')), /counts\.samples is 6 but the folder has 5/],
  ])('refuses %s with a CliError naming the file', async (_what, make, message) => {
    const dir = await make();
    const error = await sut(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(message);
  });
});

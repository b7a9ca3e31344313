import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Resource } from 'fhir/r4';
import { CliError } from '../common/cli-error';
import { startFhirStubServer } from '../../test/fixtures/fhir-stub-server';
import { FIXTURE_PATIENTS, FIXTURE_PATIENTS_DIR, fixturePatientFile, loadFixturePatient } from '../../test/fixtures/patients';
import { fixtureResources } from '../../test/fixtures/patients/fixture-resources';
import type { PatientResources } from './fhir-source.types';
import { openFhirSource } from './fhir-source';
import { NdjsonFhirSource } from './fhir-ndjson.source';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const expectedPatients = (): PatientResources[] => FIXTURE_PATIENTS.map((n) => loadFixturePatient(n)).sort((a, b) => (a.patient.id! < b.patient.id! ? -1 : 1));

/** Round-robin over patients so each file interleaves them (order within a patient kept). */
function interleaved(resources: Resource[]): Resource[] {
  const byPatient = new Map<string, Resource[]>();
  for (const r of resources) {
    const key = JSON.stringify(r).match(/"(?:subject|patient)":\{"reference":"Patient\/([^"]+)"/)?.[1] ?? r.id!;
    byPatient.set(key, [...(byPatient.get(key) ?? []), r]);
  }
  const lists = [...byPatient.values()];
  const out: Resource[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

function writeNdjsonFolder(dir: string, resources: Resource[], fileFor: (type: string) => string = (t) => `${t}.ndjson`): void {
  mkdirSync(dir, { recursive: true });
  const byFile = new Map<string, string[]>();
  for (const r of interleaved(resources)) {
    const f = fileFor(r.resourceType);
    byFile.set(f, [...(byFile.get(f) ?? []), JSON.stringify(r)]);
  }
  for (const [f, lines] of byFile) writeFileSync(path.join(dir, f), `${lines.join('\r\n')}\n`);
}

describe(openFhirSource.name, () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'fhir-source-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe('bundles', () => {
    it('reads a folder of bundles into patients ordered by Patient.id', async () => {
      const sut = await openFhirSource(FIXTURE_PATIENTS_DIR);
      expect(sut.kind).toBe('bundles');
      const patients = await collect(sut.patients());
      expect(patients.map((p) => p.patient.id)).toEqual(['7c1d2e3f-0000-4000-8000-000000000001', 'alice', 'bob', 'dave', 'erin']);
      expect(patients).toEqual(expectedPatients());
    });

    it('rewrites urn:uuid references to Type/id (Synthea-style transaction bundles)', async () => {
      const sut = await openFhirSource(fixturePatientFile('carol-synthea-style'));
      const [carol] = await collect(sut.patients());
      expect(carol.encounters).toHaveLength(3);
      expect(carol.conditions[0].subject?.reference).toBe('Patient/7c1d2e3f-0000-4000-8000-000000000001');
      expect(carol.conditions[0].encounter?.reference).toBe('Encounter/7c1d2e3f-0000-4000-8000-000000000011');
    });

    it('reads .json.gz bundles and a transaction bundle, and resolves Medications across the folder', async () => {
      const dir = path.join(tmp, 'gz');
      mkdirSync(dir);
      const alice = JSON.parse(readFileSync(fixturePatientFile('alice-multivisit-mimic'), 'utf8'));
      const meds = alice.entry.filter((e: { resource: Resource }) => e.resource.resourceType === 'Medication');
      alice.entry = alice.entry.filter((e: { resource: Resource }) => e.resource.resourceType !== 'Medication');
      alice.type = 'transaction';
      writeFileSync(path.join(dir, 'a.json.gz'), gzipSync(JSON.stringify(alice)));
      writeFileSync(path.join(dir, 'meds.json'), JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: meds }));
      const [patient] = await collect((await openFhirSource(dir)).patients());
      expect(patient).toEqual(loadFixturePatient('alice-multivisit-mimic'));
      const types = await collect((await openFhirSource(dir)).resources(['Medication']));
      expect(types.map((r) => r.id)).toContain('med-kcl');
    });
  });

  describe('ndjson', () => {
    it('groups NDJSON lines by patient and matches the bundle reading', async () => {
      const dir = path.join(tmp, 'ndjson');
      writeNdjsonFolder(dir, fixtureResources(), (t) => (t === 'MedicationRequest' ? 'MimicMedicationRequest.ndjson' : `${t}.ndjson`));
      writeFileSync(path.join(dir, 'Observation.ndjson'), '{ this file is never opened by patients() }\n');
      const sut = await openFhirSource(dir);
      expect(sut.kind).toBe('ndjson');
      expect(await collect(sut.patients())).toEqual(expectedPatients());
      expect((sut as NdjsonFhirSource).orphanResources).toBe(0);
      const conditions = await collect(sut.resources(['Condition']));
      expect(conditions).toHaveLength(fixtureResources().filter((r) => r.resourceType === 'Condition').length);
    });

    it('skips and counts resources whose patient is not in the folder', async () => {
      const dir = path.join(tmp, 'orphans');
      writeNdjsonFolder(dir, fixtureResources(['bob-first-visit', 'dave-unlinked']).filter((r) => !(r.resourceType === 'Patient' && r.id === 'dave')));
      const sut = (await openFhirSource(dir)) as NdjsonFhirSource;
      expect((await collect(sut.patients())).map((p) => p.patient.id)).toEqual(['bob']);
      expect(sut.orphanResources).toBe(loadFixturePatient('dave-unlinked').conditions.length + 3 + 2 + 5);
    });

    it.each([
      ['Condition.ndjson', '{"resourceType":"Condition","id":"a"}\n\n{"resourceType":"Condition",', /Condition\.ndjson:3: not JSON/],
      ['Condition.ndjson', '{"resourceType":"Condition","id":"a"}\n{"resourceType":"Foo","id":"b"}', /Condition\.ndjson:2: resourceType Foo is not a FHIR R4 resource type/],
      ['Condition.ndjson', '{"resourceType":"Condition","id":"a"}\n{"resourceType":"Encounter","id":"b"}', /Condition\.ndjson:2: resourceType Encounter where Condition expected/],
      ['MedicationOrder.ndjson', '{"resourceType":"MedicationOrder","id":"a"}', /MedicationOrder\.ndjson:1: resourceType MedicationOrder is DSTU2 \(R4 uses MedicationRequest\)/],
      ['MedicationRequest.ndjson', '{"resourceType":"MedicationRequest","id":"a","context":{"reference":"Encounter/1"}}', /MedicationRequest\.ndjson:1: MedicationRequest\.context is STU3 \(R4 uses encounter\)/],
      ['Condition.ndjson', '{"resourceType":"Condition","id":"a","assertedDate":"2017-01-01"}', /Condition\.ndjson:1: Condition\.assertedDate is STU3/],
      ['Condition.ndjson', '[1,2]', /Condition\.ndjson:1: not a JSON object/],
    ])('%s with bad line → one-line CliError naming file and line', async (name, text, message) => {
      const dir = mkdtempSync(path.join(tmp, 'bad-'));
      writeFileSync(path.join(dir, name), text);
      writeFileSync(path.join(dir, 'Patient.ndjson'), '{"resourceType":"Patient","id":"p"}\n');
      const sut = await openFhirSource(dir);
      const e = await collect(sut.patients()).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(CliError);
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).toContain(path.join(dir, name));
      expect((e as Error).message).not.toContain('\n');
    });
  });

  describe('bad input', () => {
    it.each([
      ['missing path', () => path.join(tmp, 'nope'), /nope: cannot read \(ENOENT\)/],
      ['empty folder', () => mkdtempSync(path.join(tmp, 'empty-')), /no FHIR data/],
      ['csv file', () => writeTo('x.csv', 'a,b'), /not a FHIR Bundle/],
    ])('%s → CliError', async (_name, make, message) => {
      await expect(openFhirSource(make())).rejects.toThrow(message);
    });

    it.each([
      ['malformed JSON', '{\n  "resourceType": "Bundle",\n  "type": "collection",\n  "entry": [ }\n', /bad\.json:4:\d+: not JSON/],
      ['not a bundle', '{"resourceType":"Patient","id":"x"}', /bad\.json:1: resourceType Patient where Bundle expected/],
      ['response bundle', '{"resourceType":"Bundle","type":"transaction-response","entry":[]}', /Bundle\.type transaction-response holds no patient data/],
      ['DSTU2 entry', '{"resourceType":"Bundle","type":"collection","entry":[\n{"resource":{"resourceType":"Patient","id":"p"}},\n{"resource":{"resourceType":"MedicationOrder","id":"m1"}}]}', /bad\.json:3: Bundle\.entry\[1\] MedicationOrder\/m1: resourceType MedicationOrder is DSTU2/],
      ['STU3 field', '{"resourceType":"Bundle","type":"collection","entry":[\n{"resource":{"resourceType":"Condition","id":"c1","assertedDate":"2017"}}]}', /bad\.json:2: Bundle\.entry\[0\] Condition\/c1: Condition\.assertedDate is STU3/],
    ])('bundle with %s → CliError with file and line', async (_name, text, message) => {
      const sut = await openFhirSource(writeTo('bad.json', text));
      await expect(collect(sut.patients())).rejects.toThrow(message);
    });

    it('a corrupt .json.gz names the file', async () => {
      const sut = await openFhirSource(writeTo('broken.json.gz', 'not gzip'));
      await expect(collect(sut.patients())).rejects.toThrow(/broken\.json\.gz: not a readable gzip file/);
    });

    function writeTo(name: string, text: string): string {
      const file = path.join(mkdtempSync(path.join(tmp, 'f-')), name);
      writeFileSync(file, text);
      return file;
    }
  });

  describe('fhir-server', () => {
    it('reads patients from a FHIR server with paging, _include and Medication reads', async () => {
      const stub = await startFhirStubServer({ resources: fixtureResources(), pageSize: 2, token: 'tok' });
      try {
        const sut = await openFhirSource(stub.url, { bearerToken: 'tok', timeoutMs: 5000 });
        expect(sut.kind).toBe('fhir-server');
        const patients = await collect(sut.patients());
        expect(patients.map((p) => p.patient.id)).toEqual(expectedPatients().map((p) => p.patient.id));
        const alice = patients.find((p) => p.patient.id === 'alice')!;
        // Ingredient Medications of the mix are not _include-d by the server: read one by one.
        expect(alice.medications.map((m) => m.id)).toEqual(['med-furosemide', 'med-insulin', 'med-kcl', 'med-metoprolol', 'med-mix-kcl-ns', 'med-ns']);
        expect(stub.requests.some((r) => r.path === 'Medication/med-kcl')).toBe(true);
        for (const p of patients) {
          const expected = loadFixturePatient(FIXTURE_PATIENTS.find((n) => loadFixturePatient(n).patient.id === p.patient.id)!);
          expect(p).toEqual(expected);
        }
        expect(stub.requests.filter((r) => r.path !== 'metadata').every((r) => r.authorization === 'Bearer tok')).toBe(true);
      } finally {
        await stub.close();
      }
    });

    it('refuses a non-R4 server and reports server errors as CliError', async () => {
      const stu3 = await startFhirStubServer({ resources: [], fhirVersion: '3.0.1' });
      const failing = await startFhirStubServer({ resources: fixtureResources(['bob-first-visit']), respond: (r) => (r.path === 'Condition' ? { status: 500 } : undefined) });
      try {
        await expect(openFhirSource(stu3.url)).rejects.toThrow(/FHIR server: .*server speaks FHIR 3\.0\.1/);
        const sut = await openFhirSource(failing.url);
        const e = await collect(sut.patients()).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(CliError);
        expect((e as Error).message).toMatch(/Condition\?patient=bob.*HTTP 500/);
      } finally {
        await Promise.all([stu3.close(), failing.close()]);
      }
    });
  });
});

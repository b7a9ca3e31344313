import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertMimic, type ConvertMimicResult } from '../../src/mimic/mimic-to-fhir.converter';
import { SHARED_DATA } from '../support/shared-data';
import { leaderCliPath } from '../support/leader-cli';

const sharedData = SHARED_DATA;
const MIMIC_IV = path.join(sharedData, 'mimic-iv-demo-2.2');
const MIMIC_III = path.join(sharedData, 'mimic-iii-demo-1.4');
const TYPES = ['Patient', 'Encounter', 'Condition', 'Procedure', 'Medication', 'MedicationRequest'] as const;

async function readNdjson(dir: string, type: string): Promise<Array<Record<string, any>>> {
  const text = await fs.readFile(path.join(dir, `${type}.ndjson`), 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** Every reference in the output points at a resource that is also in the output. */
async function expectReferencesResolve(dir: string): Promise<void> {
  const ids = new Set<string>();
  const all: Array<Record<string, any>> = [];
  for (const type of TYPES) for (const r of await readNdjson(dir, type)) { ids.add(`${type}/${r.id}`); all.push(r); }
  expect(ids.size).toBe(all.length);
  const refs = all.flatMap((r) => [r.subject?.reference, r.encounter?.reference, r.medicationReference?.reference].filter(Boolean));
  expect(refs.filter((ref) => !ids.has(ref))).toEqual([]);
}

describe('mimic-to-fhir (e2e)', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mimic-to-fhir-')); });
  afterAll(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

  describe('MIMIC-IV demo 2.2', () => {
    let out: string;
    let sut: ConvertMimicResult;
    beforeAll(async () => {
      out = path.join(tmp, 'iv');
      sut = await convertMimic(MIMIC_IV, out);
    });

    it('writes one resource per source row, with the exact demo counts', async () => {
      expect(sut.dataset).toBe('MIMIC-IV');
      expect(sut.version).toBe('2.2');
      expect(sut.resources).toMatchObject({ Patient: 100, Encounter: 275, Condition: 4506, Procedure: 722, MedicationRequest: 18087 });
      expect(sut.dropped).toEqual([]);
      for (const type of TYPES) expect((await readNdjson(out, type)).length).toBe(sut.resources[type]);
      const report = JSON.parse(await fs.readFile(path.join(out, 'conversion-report.json'), 'utf8'));
      expect(report.tables.prescriptions).toEqual({ file: 'hosp/prescriptions.csv.gz', rows: 18087 });
      const provenance = JSON.parse(await fs.readFile(path.join(out, 'provenance.json'), 'utf8'));
      expect(provenance.license.id).toBe('ODbL-1.0');
      expect(provenance.attribution).toContain('MIMIC-IV Clinical Database Demo');
    });

    it('keeps references consistent', async () => {
      await expectReferencesResolve(out);
    });

    it('gives each patient a birth date that yields MIMIC’s age at every admission', async () => {
      const patients = await readNdjson(out, 'Patient');
      const p = patients.find((r) => r.identifier[0].value === '10003400')!; // anchor_age 72, anchor_year 2134
      expect(p).toMatchObject({ gender: 'female', birthDate: '2062-01-01', deceasedDateTime: '2137-09-02' });
      const encounters = (await readNdjson(out, 'Encounter')).filter((e) => e.subject.reference === `Patient/${p.id}`);
      expect(encounters.length).toBeGreaterThan(0);
      for (const e of encounters) {
        const year = Number(e.period.start.slice(0, 4));
        expect(year - 2062).toBe(72 + (year - 2134));
      }
    });

    it('follows the MIMIC-on-FHIR shapes with local and standard codings', async () => {
      const condition = (await readNdjson(out, 'Condition'))[0];
      expect(condition.meta.profile).toEqual(['http://mimic.mit.edu/fhir/mimic/StructureDefinition/mimic-condition']);
      expect(condition.category[0].coding[0].code).toBe('encounter-diagnosis');
      expect(condition.code.coding).toEqual([
        { system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-diagnosis-icd9', code: '4139', display: 'Other and unspecified angina pectoris' },
        { system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '413.9', display: 'Other and unspecified angina pectoris' },
      ]);
      // ICD-10-CM: the local undotted code, dotted after its third character when longer (E119 → E11.9, I10 → I10).
      const icd10 = (await readNdjson(out, 'Condition')).filter((c) => c.code.coding[0].system.endsWith('icd10'));
      expect(icd10.some((c) => c.code.coding[0].code.length > 3)).toBe(true);
      for (const c of icd10) {
        const local: string = c.code.coding[0].code;
        expect(c.code.coding[1]).toMatchObject({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: local.length > 3 ? `${local.slice(0, 3)}.${local.slice(3)}` : local });
      }
      const encounter = (await readNdjson(out, 'Encounter'))[0];
      expect(encounter).toMatchObject({
        status: 'finished',
        class: { code: 'AMB' },
        type: [{ text: 'URGENT' }],
        identifier: [{ system: 'http://mimic.mit.edu/fhir/mimic/identifier/encounter-hosp', value: '24181354' }],
        period: { start: '2196-02-24T14:38:00Z', end: '2196-03-04T14:02:00Z' },
      });
      const medications = await readNdjson(out, 'Medication');
      const withNdc = medications.find((m) => m.code.coding.some((c: any) => c.system === 'http://hl7.org/fhir/sid/ndc'))!;
      expect(withNdc.code.coding.map((c: any) => c.system)).toEqual(expect.arrayContaining([
        'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-ndc', 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-name',
      ]));
      const procedure = (await readNdjson(out, 'Procedure')).find((r) => r.code.coding[0].system.endsWith('icd10'))!;
      expect(procedure.code.coding[1].system).toBe('http://www.cms.gov/Medicare/Coding/ICD10');
      expect(procedure.performedDateTime).toMatch(/^\d{4}-\d{2}-\d{2}/);
    });

    it('is idempotent: a second run gives byte-identical files', async () => {
      const again = path.join(tmp, 'iv-again');
      await convertMimic(MIMIC_IV, again);
      for (const file of [...TYPES.map((t) => `${t}.ndjson`), 'conversion-report.json', 'provenance.json']) {
        const [a, b] = await Promise.all([fs.readFile(path.join(out, file)), fs.readFile(path.join(again, file))]);
        expect(a.equals(b)).toBe(true);
      }
      // rerunning into an existing output folder replaces it
      const third = await convertMimic(MIMIC_IV, again);
      expect(third.resources.Patient).toBe(100);
    });
  });

  it('converts the MIMIC-III demo 1.4 with its exact counts', async () => {
    const out = path.join(tmp, 'iii');
    const sut = await convertMimic(MIMIC_III, out);
    expect(sut.dataset).toBe('MIMIC-III');
    expect(sut.resources).toMatchObject({ Patient: 100, Encounter: 129, Condition: 1761, Procedure: 506, MedicationRequest: 10398 });
    expect(sut.dropped).toEqual([]);
    await expectReferencesResolve(out);
    const procedure = (await readNdjson(out, 'Procedure'))[0];
    expect(procedure.performedDateTime).toMatch(/^21\d\d-\d\d-\d\dT/); // admission time stands in
  });

  describe('with a small fixture', () => {
    const header = {
      patients: 'subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod',
      admissions: 'subject_id,hadm_id,admittime,dischtime,deathtime,admission_type,admit_provider_id,admission_location,discharge_location,insurance,language,marital_status,race,edregtime,edouttime,hospital_expire_flag',
      diagnoses_icd: 'subject_id,hadm_id,seq_num,icd_code,icd_version',
      procedures_icd: 'subject_id,hadm_id,seq_num,chartdate,icd_code,icd_version',
      prescriptions: 'subject_id,hadm_id,pharmacy_id,poe_id,poe_seq,order_provider_id,starttime,stoptime,drug_type,drug,formulary_drug_cd,gsn,ndc,prod_strength,form_rx,dose_val_rx,dose_unit_rx,form_val_disp,form_unit_disp,doses_per_24_hrs,route',
    };
    async function fixture(name: string, rows: Partial<Record<keyof typeof header, string[]>>): Promise<string> {
      const dir = path.join(tmp, name);
      await fs.mkdir(path.join(dir, 'hosp'), { recursive: true });
      for (const table of Object.keys(header) as Array<keyof typeof header>) {
        await fs.writeFile(path.join(dir, 'hosp', `${table}.csv`), [header[table], ...(rows[table] ?? [])].join('\n') + '\n');
      }
      return dir;
    }
    const good = {
      patients: ['1,F,50,2150,2008 - 2010,'],
      admissions: ['1,11,2151-01-01 10:00:00,2151-01-05 10:00:00,,EW EMER.,P1,EMERGENCY ROOM,HOME,Medicare,ENGLISH,MARRIED,WHITE,,,0'],
      diagnoses_icd: ['1,11,1,4019,9', '1,11,2,,9'],
      procedures_icd: ['1,11,1,2151-01-02,3893,9'],
      prescriptions: [
        '1,11,100,,,,2151-01-01 12:00:00,2151-01-02 12:00:00,MAIN,"Aspirin, ""EC""",ASA81,004380,00904404073,81 mg Tab,,81,mg,1,TAB,1,PO',
        '1,,101,,,,2151-01-01 12:00:00,,MAIN,Aspirin,ASA81,,0,,,1-2,TAB,1,TAB,1,PO',
        '1,11,102,,,,2151-01-01 12:00:00,,MAIN,,,,,,,,,,,,PO',
      ],
    };

    it('counts rows that cannot become resources by reason, and flags rows without an admission', async () => {
      const dir = await fixture('lossy', good);
      const out = path.join(tmp, 'lossy-out');
      const sut = await convertMimic(dir, out);
      expect(sut.resources).toMatchObject({ Patient: 1, Encounter: 1, Condition: 1, Procedure: 1, Medication: 2, MedicationRequest: 2 });
      expect(sut.dropped).toEqual([
        { table: 'diagnoses_icd', reason: 'diagnosis without icd code', count: 1, exampleLines: [3] },
        { table: 'prescriptions', reason: 'prescription without drug name or code', count: 1, exampleLines: [4] },
      ]);
      expect(sut.warnings).toEqual([
        expect.objectContaining({ table: 'prescriptions', reason: 'no hadm_id (MedicationRequest without encounter)', count: 1, exampleLines: [3] }),
      ]);
      const report = JSON.parse(await fs.readFile(path.join(out, 'conversion-report.json'), 'utf8'));
      expect(report.droppedRows).toBe(2);
      const [first, second] = await readNdjson(out, 'MedicationRequest');
      expect(first.medicationReference.display).toBe('Aspirin, "EC"');
      expect(first.status).toBe('completed');
      expect(second.encounter).toBeUndefined();
      expect(second.dosageInstruction[0].doseAndRate[0].doseRange.high.value).toBe(2);
    });

    describe('through the built CLI', () => {
      let cli: string;
      const run = (args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, 'mimic-to-fhir', ...args], { cwd: tmp }, (error, _stdout, stderr) => {
          resolve({ code: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stderr });
        });
      });
      beforeAll(() => {
        cli = leaderCliPath();
      });
      async function leftovers(parent: string, base: string): Promise<string[]> {
        return (await fs.readdir(parent)).filter((n) => n.startsWith(`.${base}.tmp-`));
      }

      it('converts and prints a summary', async () => {
        const dir = await fixture('cli-good', good);
        const r = await run(['--source', dir, '--out', path.join(tmp, 'cli-good-out')]);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain('MedicationRequest 2');
        expect(r.stderr).toContain('dropped rows: 2');
      });

      it.each<[string, () => Promise<string>, RegExp]>([
        ['a missing source folder', async () => path.join(tmp, 'does-not-exist'), /does-not-exist: no such directory/],
        ['an unknown layout', async () => { const d = path.join(tmp, 'not-mimic'); await fs.mkdir(d, { recursive: true }); await fs.writeFile(path.join(d, 'x.csv'), 'a\n1\n'); return d; },
          /unknown MIMIC layout/],
        ['a missing table', async () => { const d = await fixture('no-rx', good); await fs.rm(path.join(d, 'hosp', 'prescriptions.csv')); return d; },
          /no prescriptions\.csv/],
        ['a row with the wrong field count', async () => fixture('bad-width', { ...good, diagnoses_icd: ['1,11,1,4019,9', '1,11,2,4019'] }),
          /diagnoses_icd\.csv:3: expected 5 fields as in the header, found 4/],
        ['an unterminated quote', async () => fixture('bad-quote', { ...good, procedures_icd: ['1,11,1,2151-01-02,"3893,9'] }),
          /procedures_icd\.csv:2: unterminated quoted field/],
      ])('fails on %s with one line on stderr, non-zero exit and no output folder', async (name, makeSource, message) => {
        const source = await makeSource();
        const outBase = `out-${name.replace(/\W+/g, '-')}`;
        const r = await run(['--source', source, '--out', path.join(tmp, outBase)]);
        expect(r.code).not.toBe(0);
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/: (started|done|\d+\/\d+)/.test(l));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(existsSync(path.join(tmp, outBase))).toBe(false);
        expect(await leftovers(tmp, outBase)).toEqual([]);
      });

      it('leaves a previous complete output untouched when a rerun fails', async () => {
        const out = path.join(tmp, 'kept-out');
        expect((await run(['--source', await fixture('kept-good', good), '--out', out])).code).toBe(0);
        const before = await fs.readFile(path.join(out, 'Condition.ndjson'));
        const bad = await fixture('kept-bad', { ...good, prescriptions: ['1,11,"x'] });
        const r = await run(['--source', bad, '--out', out]);
        expect(r.code).not.toBe(0);
        expect((await fs.readFile(path.join(out, 'Condition.ndjson'))).equals(before)).toBe(true);
        expect(await leftovers(tmp, 'kept-out')).toEqual([]);
      });

      it('refuses to replace a folder that is not a previous output', async () => {
        const out = path.join(tmp, 'precious');
        await fs.mkdir(out, { recursive: true });
        await fs.writeFile(path.join(out, 'notes.txt'), 'keep me');
        const r = await run(['--source', await fixture('precious-src', good), '--out', out]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/not a previous mimic-to-fhir output/);
        expect(await fs.readFile(path.join(out, 'notes.txt'), 'utf8')).toBe('keep me');
      });
    });
  });
});

import type { Condition, Encounter, Medication, MedicationRequest, Patient } from 'fhir/r4';
import type { PatientResources } from '../fhir/fhir-source.types';
import { SYSTEM, MIMIC_SYSTEM } from '../terminology/code-systems';
import { FIXTURE_PATIENTS, loadFixturePatient } from '../../test/fixtures/patients';
import { FakeTerminology } from '../../test/fixtures/patients/fake-terminology';
import { ageInYears, buildTimeline } from './timeline';

const tokens = (codes: { token: string }[]) => codes.map((c) => c.token);

function patient(over: Partial<PatientResources> = {}): PatientResources {
  return { patient: { resourceType: 'Patient', id: 'p', birthDate: '1980-06-15' }, encounters: [], conditions: [], procedures: [], medicationRequests: [], medications: [], ...over };
}
const enc = (id: string, start?: string, end?: string, extra: Partial<Encounter> = {}): Encounter => ({
  resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' }, ...(start ? { period: { start, ...(end ? { end } : {}) } } : {}), ...extra,
});
const cond = (id: string, code: string, extra: Partial<Condition> = {}): Condition => ({
  resourceType: 'Condition', id, subject: { reference: 'Patient/p' }, code: { coding: [{ system: SYSTEM.icd10cm, code }] }, ...extra,
});
const rx = (id: string, extra: Partial<MedicationRequest>): MedicationRequest => ({ resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, ...extra });

describe(buildTimeline.name, () => {
  let sut: typeof buildTimeline;
  let terminology: FakeTerminology;
  beforeEach(() => {
    sut = buildTimeline;
    terminology = new FakeTerminology();
  });

  describe('fixture patients', () => {
    it('alice (MIMIC): visits in order, MIMIC codes normalised, ICU stay folded, medicationReference resolved', () => {
      const t = sut(loadFixturePatient('alice-multivisit-mimic'), terminology);
      expect(t.patientRef).toBe('Patient/alice');
      expect(t.visits.map((v) => [v.encounterRef, v.ageYears, v.admissionType, v.insurance])).toEqual([
        ['Encounter/alice-adm-1', 69, 'EW EMER.', 'Medicare'],
        ['Encounter/alice-adm-2', 71, 'URGENT', 'Medicare'],
        ['Encounter/alice-adm-3', 71, 'EW EMER.', 'Medicaid'],
      ]);
      expect(tokens(t.visits[0].diagnoses)).toEqual(['icd9cm:428.0', 'icd9cm:401.9', 'icd9cm:250.00']);
      expect(t.visits[0].diagnoses[0].display).toBe('Congestive heart failure, unspecified');
      expect(tokens(t.visits[2].diagnoses)).toEqual(['icd10cm:I50.23', 'icd10cm:N17.9', 'icd10cm:E11.9']);
      expect(tokens(t.visits[2].procedures)).toEqual(['icd10pcs:5A1955Z']); // linked to the ICU stay, folded into adm-3
      expect(t.visits.map((v) => v.medications.map((m) => m.atc3.join('+')))).toEqual([['C03C', 'C07A', 'A10A'], ['C07A', 'B01A'], ['C03C', 'A12C+A12B', 'N02B']]);
      expect(t.visits[1].medications[1]).toEqual({ requestRef: 'MedicationRequest/alice-rx-5', atc3: ['B01A'], text: 'Heparin', status: 'completed' }); // contained
      expect(t.visits[2].medications[1].text).toBe('Sodium Chloride 0.9%  Flush / Potassium Chloride'); // mix → ingredients
      expect(t.profile).toEqual({
        gender: 'female', birthDate: '2080-04-12', insurance: 'Medicaid', language: 'ENGLISH', maritalStatus: 'WIDOWED', race: 'WHITE', ethnicity: 'Not Hispanic or Latino',
      });
      expect(t.issues).toEqual({ 'encounter:folded-into-parent': 1, 'condition:placed-by-encounter': 8, 'procedure:placed-by-encounter': 3, 'medication:placed-by-encounter': 8 });
    });

    it('bob (first visit): one open visit, ICD-10-CM preferred over SNOMED, draft order kept, profile from Patient', () => {
      const t = sut(loadFixturePatient('bob-first-visit'), terminology);
      expect(t.visits).toHaveLength(1);
      expect(t.visits[0]).toMatchObject({ encounterRef: 'Encounter/bob-enc-1', start: '2024-02-14T09:30:00Z', ageYears: 65, admissionType: 'emergency' });
      expect(t.visits[0].end).toBeUndefined();
      expect(t.visits[0].diagnoses).toEqual([
        { token: 'icd10cm:J18.9', system: SYSTEM.icd10cm, code: 'J18.9', display: 'Pneumonia, unspecified organism' },
        { token: 'icd10cm:I10', system: SYSTEM.icd10cm, code: 'I10', display: 'Essential (primary) hypertension' },
      ]);
      expect(t.visits[0].medications.map((m) => [m.atc3, m.status])).toEqual([[['C09A'], 'active'], [['J01C'], 'draft']]);
      expect(t.profile).toEqual({ gender: 'male', birthDate: '1958-09-30', language: 'English', maritalStatus: 'Never Married', race: 'Black or African American', ethnicity: 'Not Hispanic or Latino' });
    });

    it('carol (Synthea style): SNOMED diagnoses map or stay sct:, RxNorm medications', () => {
      const t = sut(loadFixturePatient('carol-synthea-style'), terminology);
      expect(t.visits.map((v) => tokens(v.diagnoses))).toEqual([['icd10cm:I10'], ['sct:444814009'], ['icd10cm:E11.9', 'sct:15777000']]);
      expect(t.visits[0].diagnoses[0].display).toBe('Hypertension'); // the coding's display
      expect(tokens(t.visits[2].procedures)).toEqual(['sct:430193006']);
      expect(t.visits.map((v) => v.medications.map((m) => m.atc3[0]))).toEqual([['C03A'], ['J01C'], ['A10B', 'C03A']]);
      expect(t.visits.map((v) => v.admissionType)).toEqual(['ambulatory', 'ambulatory', 'ambulatory']);
      expect(t.profile.maritalStatus).toBe('M');
    });

    it('dave (no encounter references): placed by date, unlinked visits per day, skipped statuses counted', () => {
      const t = sut(loadFixturePatient('dave-unlinked'), terminology);
      expect(t.visits.map((v) => [v.encounterRef, v.start, v.ageYears])).toEqual([
        ['Encounter/dave-enc-1', '2019-04-03T18:00:00Z', 69],
        ['unlinked:2019-12-01', '2019-12-01', 69],
        ['unlinked:2020-01-17', '2020-01-17', 70],
        ['Encounter/dave-enc-2', '2020-09-15T09:00:00Z', 70],
      ]);
      expect(tokens(t.visits[0].diagnoses)).toEqual(['icd10cm:I21.4', 'icd10cm:E78.5']); // datetime inside; date-only on the last day
      expect(tokens(t.visits[0].procedures)).toEqual(['icd10pcs:027034Z']);
      expect(tokens(t.visits[1].diagnoses)).toEqual(['icd10cm:I25.10']); // its encounter was entered in error
      expect(t.visits[2].medications.map((m) => m.requestRef)).toEqual(['MedicationRequest/dave-rx-2', 'MedicationRequest/dave-rx-3']); // same day, one visit
      expect(tokens(t.visits[3].diagnoses)).toEqual(['icd10cm:J44.1']); // open-ended last visit
      expect(t.visits[3].medications.map((m) => m.requestRef)).toEqual(['MedicationRequest/dave-rx-5']);
      expect(t.issues).toEqual({
        'encounter:skipped-status': 1,
        'condition:placed-by-date': 3,
        'condition:unlinked-visit': 2,
        'condition:skipped-status': 2,
        'condition:skipped-category': 1,
        'condition:encounter-not-found': 1,
        'procedure:placed-by-date': 1,
        'procedure:skipped-status': 1,
        'medication:placed-by-date': 2,
        'medication:unlinked-visit': 2,
        'medication:skipped-status': 1,
      });
      expect(t.profile).toEqual({ gender: 'male', birthDate: '1949-12-31' });
    });

    it('erin (12 visits): all visits kept, sorted, ages from the date strings', () => {
      const t = sut(loadFixturePatient('erin-long-history'), terminology);
      expect(t.visits).toHaveLength(12);
      expect(t.visits.map((v) => v.start)).toEqual([...t.visits.map((v) => v.start)].sort());
      expect(t.visits[0].ageYears).toBe(57);
      expect(t.visits[11].ageYears).toBe(59);
      expect(t.profile.language).toBe('es');
    });

    it.each(FIXTURE_PATIENTS)('%s: pure (input untouched, same output twice)', (name) => {
      const input = loadFixturePatient(name);
      const copy = structuredClone(input);
      const first = sut(input, terminology);
      expect(input).toEqual(copy);
      expect(sut(input, new FakeTerminology())).toEqual(first);
    });
  });

  describe('rules', () => {
    it('orders visits by start then id, puts visits without a start last', () => {
      const t = sut(patient({ encounters: [enc('c', '2020-01-02T00:00:00Z'), enc('z'), enc('b', '2020-01-01T09:00:00+02:00'), enc('a2', '2020-01-01T08:00:00Z'), enc('a1', '2020-01-01T10:00:00+02:00')] }), terminology);
      // Instants, not strings: 09:00+02:00 is before 08:00Z; equal instants tie-break on id.
      expect(t.visits.map((v) => v.encounterRef)).toEqual(['Encounter/b', 'Encounter/a1', 'Encounter/a2', 'Encounter/c', 'Encounter/z']);
      expect(t.issues['encounter:no-start']).toBe(1);
    });

    it('links by urn:uuid encounter references (prefetch data that was not rewritten)', () => {
      const t = sut(patient({ encounters: [enc('0a1b', '2020-01-01')], conditions: [cond('c', 'I10', { encounter: { reference: 'urn:uuid:0a1b' } })] }), terminology);
      expect(tokens(t.visits[0].diagnoses)).toEqual(['icd10cm:I10']);
      expect(t.issues['condition:placed-by-encounter']).toBe(1);
    });

    it('an open-ended visit lasts until the next visit starts', () => {
      const t = sut(
        patient({
          encounters: [enc('e1', '2020-01-01T10:00:00Z'), enc('e2', '2020-03-01T10:00:00Z', '2020-03-02T10:00:00Z')],
          conditions: [cond('in-e1', 'I10', { recordedDate: '2020-02-29T23:00:00Z' }), cond('in-e2', 'E11.9', { recordedDate: '2020-03-01' }), cond('after', 'J18.9', { recordedDate: '2020-03-03T00:00:00Z' })],
        }),
        terminology,
      );
      expect(t.visits.map((v) => [v.encounterRef, tokens(v.diagnoses)])).toEqual([
        ['Encounter/e1', ['icd10cm:I10']],
        ['Encounter/e2', ['icd10cm:E11.9']],
        ['unlinked:2020-03-03', ['icd10cm:J18.9']],
      ]);
    });

    it('takes one token per condition by system preference and deduplicates within a visit', () => {
      const coded = (id: string, codings: { system: string; code: string }[]) => cond(id, '', { code: { coding: codings }, encounter: { reference: 'Encounter/e' } });
      const t = sut(
        patient({
          encounters: [enc('e', '2020-01-01')],
          conditions: [
            coded('a', [{ system: SYSTEM.snomed, code: '38341003' }, { system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019' }, { system: 'http://local', code: 'x' }]),
            coded('b', [{ system: SYSTEM.icd9cm, code: '401.9' }]),
            coded('c', [{ system: 'http://local', code: 'x' }]),
            coded('d', []),
          ],
        }),
        terminology,
      );
      expect(tokens(t.visits[0].diagnoses)).toEqual(['icd9cm:401.9']);
      expect(t.issues['condition:unmapped']).toBe(2);
    });

    it('resolves medicationReference by id, urn:uuid and contained; counts unresolved and unmapped', () => {
      const t = sut(
        patient({
          encounters: [enc('e', '2020-01-01')],
          medications: [{ resourceType: 'Medication', id: 'm1', code: { coding: [{ system: SYSTEM.rxnorm, code: '314076' }], text: 'lisinopril' } }],
          medicationRequests: [
            rx('r1', { encounter: { reference: 'Encounter/e' }, medicationReference: { reference: 'Medication/m1' } }),
            rx('r2', { encounter: { reference: 'Encounter/e' }, medicationReference: { reference: 'urn:uuid:m1' } }),
            rx('r3', { encounter: { reference: 'Encounter/e' }, contained: [{ resourceType: 'Medication', id: 'c', code: { coding: [{ system: SYSTEM.rxnorm, code: '313782' }] } } as Medication], medicationReference: { reference: '#c' } }),
            rx('r4', { encounter: { reference: 'Encounter/e' }, medicationReference: { reference: 'Medication/missing', display: 'Mystery pill' } }),
            rx('r5', { encounter: { reference: 'Encounter/e' }, medicationCodeableConcept: { text: 'unknown drug' } }),
            rx('r6', { encounter: { reference: 'Encounter/e' }, status: 'entered-in-error', medicationCodeableConcept: { text: 'acetaminophen' } }),
          ],
        }),
        terminology,
      );
      expect(t.visits[0].medications).toEqual([
        { requestRef: 'MedicationRequest/r1', atc3: ['C09A'], text: 'lisinopril', status: 'active' },
        { requestRef: 'MedicationRequest/r2', atc3: ['C09A'], text: 'lisinopril', status: 'active' },
        { requestRef: 'MedicationRequest/r3', atc3: ['N02B'], status: 'active' },
        { requestRef: 'MedicationRequest/r4', atc3: [], text: 'Mystery pill', status: 'active' },
        { requestRef: 'MedicationRequest/r5', atc3: [], text: 'unknown drug', status: 'active' },
      ]);
      expect(t.issues).toMatchObject({ 'medication:unresolved-reference': 1, 'medication:unmapped-atc3': 1, 'medication:skipped-status': 1 });
    });

    it('counts resources without encounter and date, and keeps sub-encounters as visits when folding is off', () => {
      const resources = patient({
        encounters: [enc('h', '2020-01-01T00:00:00Z', '2020-01-05T00:00:00Z'), enc('icu', '2020-01-02T00:00:00Z', '2020-01-03T00:00:00Z', { partOf: { reference: 'Encounter/h' } })],
        conditions: [cond('nodate', 'I10')],
      });
      expect(sut(resources, terminology).visits).toHaveLength(1);
      expect(sut(resources, terminology).issues['condition:no-date']).toBe(1);
      expect(sut(resources, terminology, { foldSubEncounters: false }).visits.map((v) => v.encounterRef)).toEqual(['Encounter/h', 'Encounter/icu']);
    });

    it('folds a partOf cycle (bad data) into one visit, its earliest member, losing nothing', () => {
      const resources = patient({
        encounters: [
          enc('a', '2020-01-02T00:00:00Z', '2020-01-03T00:00:00Z', { partOf: { reference: 'Encounter/b' } }),
          enc('b', '2020-01-01T00:00:00Z', '2020-01-05T00:00:00Z', { partOf: { reference: 'Encounter/a' } }),
        ],
        conditions: [cond('on-a', 'I10', { encounter: { reference: 'Encounter/a' } }), cond('on-b', 'E11.9', { encounter: { reference: 'Encounter/b' } })],
      });
      const t = sut(resources, terminology);
      expect(t.visits.map((v) => v.encounterRef)).toEqual(['Encounter/b']);
      expect(t.visits[0].diagnoses).toHaveLength(2);
    });

    it('profile: last encounter visit wins for per-admission fields, Patient fills the rest, US Core URLs in both spellings', () => {
      const ext = (url: string, valueString: string) => ({ url, valueString });
      const p: Patient = {
        resourceType: 'Patient', id: 'p', gender: 'other',
        maritalStatus: { coding: [{ code: 'S' }] },
        communication: [{ language: { coding: [{ code: 'fr' }] } }, { language: { text: 'Polish' }, preferred: true }],
        extension: [{ url: 'http://hl7.org/fhir/us-core/StructureDefinition/us-core-race', extension: [{ url: 'ombCategory', valueCoding: { code: '2028-9', display: 'Asian' } }] }],
      };
      const t = sut(
        patient({
          patient: p,
          encounters: [
            enc('old', '2019-01-01', undefined, { extension: [ext('http://leader-cds.org/fhir/StructureDefinition/encounter-insurance', 'Private'), ext('http://leader-cds.org/fhir/StructureDefinition/encounter-language', 'ENGLISH')] }),
            enc('new', '2020-01-01', undefined, { extension: [ext('http://leader-cds.org/fhir/StructureDefinition/encounter-insurance', 'Medicare')] }),
          ],
        }),
        terminology,
      );
      expect(t.profile).toEqual({ gender: 'other', insurance: 'Medicare', language: 'Polish', maritalStatus: 'S', race: 'Asian' });
      expect(t.visits[0].language).toBe('ENGLISH');
    });
  });

  it.each([
    ['1980-06-15', '2020-06-14T23:00:00Z', 39],
    ['1980-06-15', '2020-06-15', 40],
    ['1980-02-29', '2021-02-28T10:00:00-05:00', 40],
    ['1980', '2020-01-01', 40],
    ['2030-01-01', '2020-01-01', undefined],
    [undefined, '2020-01-01', undefined],
  ])('ageInYears(%s, %s) = %s', (birth, at, age) => {
    expect(ageInYears(birth, at)).toBe(age);
  });
});

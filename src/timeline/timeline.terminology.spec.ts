import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Terminology } from '../terminology/terminology';
import { FIXTURE_PATIENTS, loadFixturePatient } from '../../test/fixtures/patients';
import { buildTimeline } from './timeline';

const mappings = Terminology.defaultDir();

// Integration: the fixture patients through the real Terminology (fhir-mappings/).
(existsSync(path.join(mappings, 'codesystem-atc.json')) ? describe : describe.skip)('buildTimeline with the real Terminology', () => {
  let terminology: Terminology;
  beforeAll(async () => {
    terminology = await Terminology.load(mappings);
  });

  it('maps MIMIC local codes and NDC Medications (alice)', () => {
    const t = buildTimeline(loadFixturePatient('alice-multivisit-mimic'), terminology);
    expect(t.visits[0].diagnoses.map((d) => d.token)).toEqual(['icd9cm:428.0', 'icd9cm:401.9', 'icd9cm:250.00']);
    expect(t.visits[0].procedures.map((d) => d.token)).toEqual(['icd9pcs:38.93']);
    expect(t.visits[2].procedures.map((d) => d.token)).toEqual(['icd10pcs:5A1955Z']);
    expect(t.visits.map((v) => v.medications.map((m) => [...m.atc3].sort().join('+')))).toEqual([['C03C', 'C07A', 'A10A'], ['C07A', 'B01A'], ['C03C', 'A12B+A12C', 'N02B']]);
    expect(t.visits[0].diagnoses.every((d) => d.display)).toBe(true);
  });

  it('maps SNOMED to ICD-10-CM and RxNorm to ATC3 (carol)', () => {
    const t = buildTimeline(loadFixturePatient('carol-synthea-style'), terminology);
    expect(t.visits[0].diagnoses.map((d) => d.token)).toEqual(['icd10cm:I10']);
    expect(t.visits[2].medications.map((m) => m.atc3)).toEqual([['A10B'], ['C03A']]);
  });

  it('classes two orders of one Medication by their own routes (the per-reference memo keys on the route)', () => {
    const resources = loadFixturePatient('alice-multivisit-mimic');
    const order = resources.medicationRequests.find((r) => r.medicationReference?.reference)!;
    const kcl = { resourceType: 'Medication' as const, id: 'kcl', code: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '00338070541', display: 'Potassium Chloride' }], text: 'Potassium Chloride' } };
    const viaRoute = (id: string, route: string) => ({ ...order, id, medicationReference: { reference: 'Medication/kcl' },
      dosageInstruction: [{ route: { coding: [{ system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: route }] } }] });
    const t = buildTimeline({ ...resources, medications: [...resources.medications, kcl], medicationRequests: [viaRoute('kcl-iv', 'IV'), viaRoute('kcl-po', 'PO')] }, terminology);
    const classes = Object.fromEntries(t.visits.flatMap((v) => v.medications).map((m) => [m.requestRef, m.atc3]));
    expect(classes).toEqual({ 'MedicationRequest/kcl-iv': ['B05X'], 'MedicationRequest/kcl-po': ['A12B'] });
  });

  it.each(FIXTURE_PATIENTS)('%s: every diagnosis and medication maps', (name) => {
    const t = buildTimeline(loadFixturePatient(name), terminology);
    expect(t.issues['condition:unmapped']).toBeUndefined();
    expect(t.issues['medication:unmapped-atc3']).toBeUndefined();
    expect(t.issues['medication:unresolved-reference']).toBeUndefined();
  });
});

import { expectedTypeOfNdjson } from './fhir-ndjson.reader';
import { fhirR4Problem, jsonSyntaxErrorOffset, parseReference, patientIdOf } from './fhir-resource.utils';

describe('fhir-resource.utils', () => {
  it.each([
    ['Patient/123', { type: 'Patient', id: '123' }],
    ['https://x.org/fhir/Encounter/e-1/_history/2', { type: 'Encounter', id: 'e-1' }],
    ['urn:uuid:7c1d2e3f-0000-4000-8000-000000000001', { id: '7c1d2e3f-0000-4000-8000-000000000001' }],
    ['#med1', undefined],
    [undefined, undefined],
  ])('parseReference(%s)', (ref, expected) => {
    expect(parseReference(ref)).toEqual(expected);
  });

  it('finds the patient of a resource by subject or patient, never another type', () => {
    expect(patientIdOf({ resourceType: 'Patient', id: 'p' })).toBe('p');
    expect(patientIdOf({ resourceType: 'Condition', subject: { reference: 'Patient/p' } } as never)).toBe('p');
    expect(patientIdOf({ resourceType: 'Coverage', patient: { reference: 'urn:uuid:u' } } as never)).toBe('u');
    expect(patientIdOf({ resourceType: 'Observation', subject: { reference: 'Group/g' } } as never)).toBeUndefined();
  });

  it.each([
    [{ resourceType: 'Condition', clinicalStatus: 'active' }, /clinicalStatus \(a code\) is DSTU2\/STU3/],
    [{ resourceType: 'Encounter', class: 'inpatient' }, /Encounter\.class \(a code\) is DSTU2/],
    [{ resourceType: 'Encounter', class: [{ code: 'IMP' }] }, /Encounter\.class \(a list\) is R5/],
    [{ resourceType: 'MedicationRequest', medication: { concept: {} } }, /is R5/],
    [{ resourceType: 'ProcedureRequest' }, /STU3 \(R4 uses ServiceRequest\)/],
    [{ id: 'x' }, /no resourceType/],
  ])('fhirR4Problem refuses %j', (resource, message) => {
    expect(fhirR4Problem(resource)).toMatch(message);
  });

  it('accepts R4 resources', () => {
    expect(fhirR4Problem({ resourceType: 'MedicationRequest', encounter: { reference: 'Encounter/1' }, medicationReference: { reference: '#m' } })).toBeUndefined();
  });

  it.each([
    ['{"a": [1, 2,, 3]}', 12],
    ['{"a": tru}', 6],
    ['{"a": 1', 7],
    ['{"a": "x\n"}', 8],
    ['[1] 2', 4],
    ['{"a" 1}', 5],
  ])('jsonSyntaxErrorOffset(%j) = %d', (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonSyntaxErrorOffset(text)).toBe(offset);
  });

  it.each([
    ['Condition.ndjson', 'Condition'],
    ['MimicMedicationRequest.ndjson', 'MedicationRequest'],
    ['MimicMedicationMix.ndjson', 'Medication'],
    ['MimicEncounterICU.ndjson', 'Encounter'],
    ['1.Procedure.000.ndjson', 'Procedure'],
    ['data.ndjson', undefined],
  ])('expectedTypeOfNdjson(%s) = %s', (file, type) => {
    expect(expectedTypeOfNdjson(`/x/${file}`)).toBe(type);
  });
});

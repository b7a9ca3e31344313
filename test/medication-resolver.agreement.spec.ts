import type { Encounter, Medication, MedicationRequest, Resource } from 'fhir/r4';
import { draftMedications } from '../src/cds-hooks/serving/current-visit';
import { computeCoverage } from '../src/terminology/coverage';
import { MIMIC_SYSTEM, SYSTEM } from '../src/terminology/code-systems';
import { resolveMedication } from '../src/terminology/medication-resolver';
import { Terminology } from '../src/terminology/terminology';
import { buildTimeline } from '../src/timeline/timeline';

/**
 * One resolver: the timeline (training and history), the order-entry drafts (hooks) and the
 * coverage report class the same MedicationRequest the same way, row by row.
 */
const NDC_N06B = '00002322930'; // MIMIC NDC → N06B
const GSN_N02B = '004489'; // GSN → N02B
const NDC_ASPIRIN_A01A = '00904404073'; // first-listed map gives A01A (stomatological)

const med = (id: string, extra: Partial<Medication>): Medication => ({ resourceType: 'Medication', id, ...extra });
const mimicNdc = (code: string) => ({ coding: [{ system: MIMIC_SYSTEM.medicationNdc, code }] });
const PO = { route: { coding: [{ system: MIMIC_SYSTEM.medicationRoute, code: 'PO' }], text: 'PO' } };

type Row = [label: string, request: Partial<MedicationRequest>, medications: Medication[], atc3: string[]];
const rows: Row[] = [
  ['inline RxNorm product the maps lack, classed by its normalised name', { medicationCodeableConcept: { coding: [{ system: SYSTEM.rxnorm, code: '99999999', display: 'Naproxen 250 MG Oral Tablet' }] } }, [], ['M01A']],
  ['contained Medication (#id)', { medicationReference: { reference: '#m' }, contained: [med('m', { code: mimicNdc(NDC_N06B) })] }, [], ['N06B']],
  ['bundled Medication (Medication/id)', { medicationReference: { reference: 'Medication/m' } }, [med('m', { code: mimicNdc(NDC_N06B) })], ['N06B']],
  ['urn:uuid reference', { medicationReference: { reference: 'urn:uuid:4f7e2a10-0000-4000-8000-000000000001' } }, [med('4f7e2a10-0000-4000-8000-000000000001', { code: mimicNdc(NDC_N06B) })], ['N06B']],
  ['absolute reference with _history', { medicationReference: { reference: 'http://ehr.example/fhir/Medication/m/_history/2' } }, [med('m', { code: mimicNdc(NDC_N06B) })], ['N06B']],
  ['mix: ingredient A has an NDC, ingredient B only a GSN', { medicationReference: { reference: 'Medication/mix' } }, [
    med('mix', { ingredient: [{ itemReference: { reference: 'Medication/a' } }, { itemReference: { reference: 'Medication/b' } }] }),
    med('a', { code: mimicNdc(NDC_N06B) }),
    med('b', { code: { coding: [{ system: MIMIC_SYSTEM.medicationGsn, code: GSN_N02B }] } }),
  ], ['N02B', 'N06B']],
  ['NDC only in identifier', { medicationReference: { reference: 'Medication/m' } }, [med('m', { identifier: [{ system: SYSTEM.ndc, value: '0002-3229-30' }] })], ['N06B']],
  ['code map class checked against the route (aspirin PO)', { medicationReference: { reference: 'Medication/m' }, dosageInstruction: [PO] }, [
    med('m', { code: { coding: [{ system: MIMIC_SYSTEM.medicationNdc, code: NDC_ASPIRIN_A01A }, { system: MIMIC_SYSTEM.medicationName, code: 'Aspirin' }], text: 'Aspirin' } }),
  ], ['B01A']],
  ['strength in dosageInstruction.text decides (aspirin 325 mg)', { medicationReference: { reference: 'Medication/m' }, dosageInstruction: [{ ...PO, text: '325mg Tab' }] }, [
    med('m', { code: { coding: [{ system: MIMIC_SYSTEM.medicationNdc, code: NDC_ASPIRIN_A01A }], text: 'Aspirin' } }),
  ], ['N02B']],
  ['ophthalmic route from the request', { medicationCodeableConcept: { text: 'Timolol' }, dosageInstruction: [{ route: { coding: [{ system: 'http://snomed.info/sct', code: '54485002' }] } }] }, [], ['S01E']],
  ['Medication form gives the route', { medicationReference: { reference: 'Medication/m' } }, [med('m', { code: { text: 'Timolol' }, form: { text: 'Ophthalmic Solution' } })], ['S01E']],
  ['unknown drug: not assessed', { medicationCodeableConcept: { text: 'Unobtainium' } }, [], []],
];

describe('one medication resolver: timeline, drafts and coverage agree', () => {
  const terminology = Terminology.loadSync();
  const encounter: Encounter = { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/p' }, period: { start: '2020-01-01T00:00:00Z', end: '2020-01-05T00:00:00Z' } };

  it.each(rows)('%s', async (_label, extra, medications, atc3) => {
    const request: MedicationRequest = { resourceType: 'MedicationRequest', id: 'r1', status: 'completed', intent: 'order', subject: { reference: 'Patient/p' }, encounter: { reference: 'Encounter/e1' }, authoredOn: '2020-01-02', ...extra };

    const resolved = resolveMedication(request, (id) => medications.find((m) => m.id === id));
    const classes = terminology.classifyMedication(resolved);
    expect(classes.atc3).toEqual(atc3);
    expect(classes.rule === 'not-assessed').toBe(atc3.length === 0);

    const timeline = buildTimeline({ patient: { resourceType: 'Patient', id: 'p' }, encounters: [encounter], conditions: [], procedures: [], medicationRequests: [request], medications }, terminology);
    expect(timeline.visits[0].medications.map((m) => m.atc3)).toEqual([atc3]);

    const drafts = draftMedications({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...request, status: 'draft' } }] } as never, medications, terminology);
    expect(drafts.medications.map((m) => m.atc3)).toEqual([atc3]);

    const coverage = await computeCoverage([request as Resource, ...medications], terminology);
    expect(coverage.resourceTypes.MedicationRequest.rowsMapped).toBe(atc3.length > 0 ? 1 : 0);
  });
});

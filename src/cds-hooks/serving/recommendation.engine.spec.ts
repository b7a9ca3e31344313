import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Condition, Encounter, MedicationRequest, Patient } from 'fhir/r4';
import { StudentModel } from '../../inference/student-model';
import { SYSTEM } from '../../terminology/code-systems';
import { timelineStages } from '../../timeline/timeline';
import { FakeTerminology } from '../../../test/fixtures/patients/fake-terminology';
import { writeTinyStudentModel } from '../../../test/support/tiny-student-model';
import { RecommendationEngine } from './recommendation.engine';

describe(RecommendationEngine.name, () => {
  let dir: string;
  let model: StudentModel;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tiny-student-'));
    // Hypertension alone drives beta blockers; diabetes alone drives oral antidiabetics; pneumonia nudges both a little.
    await writeTinyStudentModel(dir, {
      labels: ['A10B', 'C07A', 'J01D'],
      labelNames: { A10B: 'blood glucose lowering drugs, excl. insulins', C07A: 'beta blocking agents', J01D: 'other beta-lactam antibacterials' },
      codeTokens: ['icd10cm:E11.9', 'icd10cm:I10', 'icd10cm:J18.9'],
      weights: { 'icd10cm:I10': { C07A: 5 }, 'icd10cm:E11.9': { A10B: 4 }, 'icd10cm:J18.9': { C07A: 0.3, A10B: 0.2, J01D: 1 } },
    });
    model = await StudentModel.load(dir);
  });
  afterAll(async () => {
    await model?.release();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const patient: Patient = { resourceType: 'Patient', id: 'p', gender: 'male', birthDate: '1950-01-01' };
  const encounter = (id: string, start: string): Encounter => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/p' }, period: { start, end: start } });
  const condition = (id: string, enc: string, code: string): Condition => ({
    resourceType: 'Condition', id, subject: { reference: 'Patient/p' }, encounter: { reference: `Encounter/${enc}` },
    category: [{ coding: [{ code: 'encounter-diagnosis' }] }], code: { coding: [{ system: SYSTEM.icd10cm, code }] },
  });
  const resources = {
    patient,
    encounters: [encounter('e1', '2024-01-01T10:00:00Z'), encounter('e2', '2024-03-01T10:00:00Z')],
    conditions: [condition('c1', 'e1', 'I10'), condition('c2', 'e1', 'J18.9'), condition('c3', 'e2', 'E11.9'), condition('c4', 'e2', 'I10')],
    procedures: [], medicationRequests: [] as MedicationRequest[], medications: [],
  };

  it('evidence by occlusion: the code that drives a class comes first, with a positive effect; one batch for all variants', async () => {
    const engine = new RecommendationEngine(model, new FakeTerminology(), timelineStages, { neverSuggest: [], neverSuggestSource: 'test' });
    const predict = jest.spyOn(model, 'predict');
    const result = await engine.recommend({ hook: 'patient-view', resources, medicationStatements: [], encounterId: 'e2' }, new Date('2024-03-01T12:00:00Z'));
    expect(predict).toHaveBeenCalledTimes(1);
    expect(predict.mock.calls[0][0].batchSize).toBe(1 + 3); // the sample and one variant per distinct diagnosis (the profile is all unknown)
    predict.mockRestore();
    const byClass = new Map(result.classes.map((c) => [c.atc3, c]));
    expect(byClass.get('C07A')!.evidence[0]).toMatchObject({ kind: 'diagnosis', token: 'icd10cm:I10', name: 'Essential (primary) hypertension (I10)' });
    expect(byClass.get('C07A')!.evidence[0].effect).toBeGreaterThan(0.5);
    expect(byClass.get('A10B')!.evidence[0]).toMatchObject({ token: 'icd10cm:E11.9' });
    expect(result.suggestions.map((c) => c.atc3)).toEqual(['C07A', 'A10B']);
    expect(result.productSource).toBe('patient-history-only');
    const without = await engine.recommend({ hook: 'patient-view', resources, medicationStatements: [], encounterId: 'e2', evidence: false }, new Date('2024-03-01T12:00:00Z'));
    expect(without.classes.every((c) => c.evidence.length === 0)).toBe(true);
    expect(without.suggestions.map((c) => c.probability)).toEqual(result.suggestions.map((c) => c.probability));
  });

  it("takes the patient's current medication as continued, and the product of a class from the patient's history", async () => {
    const metoprolol: MedicationRequest = {
      resourceType: 'MedicationRequest', id: 'm1', status: 'completed', intent: 'order', subject: { reference: 'Patient/p' }, encounter: { reference: 'Encounter/e1' },
      authoredOn: '2024-01-01T11:00:00Z', dispenseRequest: { validityPeriod: { start: '2024-01-01T11:00:00Z', end: '2024-01-05T00:00:00Z' } },
      medicationCodeableConcept: { coding: [{ system: SYSTEM.ndc, code: '51079025520', display: 'Metoprolol Tartrate 25 mg' }] },
    };
    const engine = new RecommendationEngine(model, new FakeTerminology(), timelineStages, { neverSuggest: [], neverSuggestSource: 'test' }, { currentMedicationDays: 30 });
    const at = new Date('2024-03-01T12:00:00Z');
    const old = await engine.recommend({ hook: 'order-select', resources: { ...resources, medicationRequests: [metoprolol] }, medicationStatements: [], encounterId: 'e2' }, at);
    // Ended 57 days before the visit, outside a 30-day window: a new suggestion, coded with the patient's own product.
    expect(old.suggestions.find((c) => c.atc3 === 'C07A')!.product).toMatchObject({ rule: 'patient-last', coding: { system: SYSTEM.ndc, code: '51079025520' } });
    const wide = new RecommendationEngine(model, new FakeTerminology(), timelineStages, { neverSuggest: [], neverSuggestSource: 'test' }, { currentMedicationDays: 90 });
    const recent = await wide.recommend({ hook: 'order-select', resources: { ...resources, medicationRequests: [metoprolol] }, medicationStatements: [], encounterId: 'e2' }, at);
    expect(recent.continued.map((c) => c.atc3)).toEqual(['C07A']);
    expect(recent.suggestions.map((c) => c.atc3)).toEqual(['A10B']);
  });

  it('lists recorded orders that no class was given, by name, and leaves drafts to the order review', async () => {
    const unknown = (id: string, status: MedicationRequest['status']): MedicationRequest => ({
      resourceType: 'MedicationRequest', id, status, intent: 'order', subject: { reference: 'Patient/p' }, encounter: { reference: 'Encounter/e1' },
      authoredOn: '2024-01-01T11:00:00Z', medicationCodeableConcept: { text: 'Zyzzyx compound' },
    });
    const engine = new RecommendationEngine(model, new FakeTerminology(), timelineStages, { neverSuggest: [], neverSuggestSource: 'test' });
    const result = await engine.recommend({ hook: 'order-sign', resources: { ...resources, medicationRequests: [unknown('u1', 'completed'), unknown('u2', 'stopped')] }, medicationStatements: [], encounterId: 'e2', evidence: false }, new Date('2024-03-01T12:00:00Z'));
    expect(result.notAssessed).toEqual([{ drug: 'Zyzzyx compound', orders: 2 }]);
  });
});

import { validateResource } from '@medplum/core';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import type { DetectedIssue, GuidanceResponse, MedicationRequest, RequestGroup } from 'fhir/r4';
import { buildCards } from '../cds-hooks/cards/card.builder';
import { loadFhirDefinitions } from '../ehr/fhir-definitions';
import { DdiIndex } from '../recommend/ddi-index';
import { recommend, type RecommendInput } from '../recommend/recommend';
import { RETIRE_BATCH, retireTransactions, SYSTEMS, writeBackTransaction, type WriteBackInput } from './write-back.builder';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** A real recommendation and its order-select cards: A02B and M01A suggested with products, M01A interacting with current warfarin. */
function recommendation() {
  const input: RecommendInput = {
    labels: ['A02B', 'B01A', 'M01A'], probs: [0.9, 0.6, 0.7], threshold: 0.4, ddi: new DdiIndex([['B01A', 'M01A']]),
    className: (c) => ({ A02B: 'drugs for peptic ulcer and GORD', B01A: 'antithrombotic agents', M01A: 'antiinflammatory and antirheumatic products, non-steroids' } as Record<string, string>)[c],
    priorVisits: 2, drafts: [], neverSuggest: [],
    current: [{ drug: 'Warfarin 5 MG Oral Tablet', atc3: ['B01A'], source: 'MedicationRequest', status: 'active' }],
    patientProducts: new Map([
      ['A02B', { atc3: ['A02B'], coding: { system: RX, code: '40790', display: 'pantoprazole 40 MG' }, date: '2024-01-01' }],
      ['M01A', { atc3: ['M01A'], coding: { system: RX, code: '198013', display: 'Naproxen 250 MG Oral Tablet' }, date: '2024-01-01' }],
    ]),
  };
  const result = recommend(input);
  let n = 0;
  const cards = buildCards(result, { hook: 'order-select', patientId: 'p1', encounterId: 'e7', source: { label: 'leader-student 1.2.0', url: 'http://cds.example.org/models/leader-student' }, newUuid: () => `u-${++n}` });
  return { result, cards };
}

function input(overrides: Partial<WriteBackInput> = {}): WriteBackInput {
  const { result, cards } = recommendation();
  return {
    eventId: 'reg-1/event-4', patientId: 'p1', encounterId: 'e7', cards, interactions: result.interactions,
    model: { name: 'leader-student', version: '1.2.0' }, authoredOn: '2026-11-30T12:00:00.000Z', supersede: [], reason: 'Condition/c1 (event 4)',
    ...overrides,
  };
}

describe('writeBackTransaction (CDS Hooks ↔ Clinical Reasoning)', () => {
  beforeAll(() => loadFhirDefinitions());

  it('one transaction: RequestGroup, proposal MedicationRequests, GuidanceResponse, DetectedIssue; every resource valid FHIR R4', () => {
    const bundle = writeBackTransaction(input());
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    const types = bundle.entry!.map((e) => e.resource!.resourceType);
    expect(types).toEqual(['RequestGroup', 'MedicationRequest', 'MedicationRequest', 'GuidanceResponse', 'DetectedIssue']);
    for (const e of bundle.entry!) expect(() => validateResource(e.resource as MedplumResource)).not.toThrow();
    expect(() => validateResource(bundle as unknown as MedplumResource)).not.toThrow();
    // The validator is real: a RequestGroup without status, or an action with neither resource nor sub-actions, fails it.
    const rg = bundle.entry![0].resource as RequestGroup;
    expect(() => validateResource({ ...rg, status: undefined } as unknown as MedplumResource)).toThrow(/RequestGroup.status/);
    expect(() => validateResource({ ...rg, action: [{ title: 'x', action: [{ title: 'y', resource: { reference: 'MedicationRequest/1' }, action: [{ title: 'z' }] }] }] } as unknown as MedplumResource)).toThrow(/rqg-1/);
  });

  it('RequestGroup: active proposal for the patient and encounter, one action per card, nested actions referencing the draft proposals', () => {
    const { cards } = recommendation();
    const bundle = writeBackTransaction(input());
    const rg = bundle.entry![0].resource as RequestGroup;
    expect(rg).toMatchObject({ status: 'active', intent: 'proposal', subject: { reference: 'Patient/p1' }, encounter: { reference: 'Encounter/e7' }, identifier: [{ system: SYSTEMS.requestGroup, value: 'reg-1/event-4' }] });
    expect(rg.action).toHaveLength(cards.length);
    expect(rg.action![0]).toMatchObject({ title: cards[0].summary, description: cards[0].detail, priority: 'routine', selectionBehavior: 'any', documentation: [{ type: 'documentation', display: 'leader-student 1.2.0' }] });
    const proposals = bundle.entry!.filter((e) => e.resource!.resourceType === 'MedicationRequest');
    expect(rg.action![0].action!.map((a) => a.resource!.reference)).toEqual(proposals.map((e) => `MedicationRequest/${e.resource!.id}`));
    for (const e of proposals) {
      const mr = e.resource as MedicationRequest;
      expect(mr).toMatchObject({ status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p1' }, encounter: { reference: 'Encounter/e7' } });
      expect(mr.medicationCodeableConcept!.coding![0].system).toBe(RX);
      expect(mr.identifier![0].system).toBe(SYSTEMS.proposal);
      expect(e.request).toEqual({ method: 'PUT', url: `MedicationRequest/${mr.id}` });
    }
    expect(proposals.map((e) => (e.resource as MedicationRequest).identifier![0].value).sort()).toEqual(['reg-1/event-4/A02B', 'reg-1/event-4/M01A']);
  });

  it('GuidanceResponse: the model as module, the event as requestIdentifier, result = the RequestGroup', () => {
    const bundle = writeBackTransaction(input());
    const gr = bundle.entry!.find((e) => e.resource!.resourceType === 'GuidanceResponse')!.resource as GuidanceResponse;
    expect(gr).toMatchObject({
      status: 'success', moduleCanonical: 'http://leader-cds.org/fhir/model/leader-student|1.2.0',
      requestIdentifier: { system: SYSTEMS.notificationEvent, value: 'reg-1/event-4' }, result: { reference: `RequestGroup/${bundle.entry![0].resource!.id}` }, subject: { reference: 'Patient/p1' },
    });
  });

  it('DetectedIssue per interacting pair with a suggested class: implicates the proposal and names the current drug', () => {
    const bundle = writeBackTransaction(input());
    const issues = bundle.entry!.filter((e) => e.resource!.resourceType === 'DetectedIssue').map((e) => e.resource as DetectedIssue);
    expect(issues).toHaveLength(1);
    const naproxen = bundle.entry!.find((e) => (e.resource as MedicationRequest).identifier?.[0].value === 'reg-1/event-4/M01A')!;
    expect(issues[0]).toMatchObject({ status: 'preliminary', severity: 'moderate', code: { coding: [{ code: 'DRG' }] }, patient: { reference: 'Patient/p1' }, identifier: [{ value: 'reg-1/event-4/B01A+M01A' }] });
    expect(issues[0].implicated!.map((r) => r.reference ?? r.display)).toEqual(expect.arrayContaining([`MedicationRequest/${naproxen.resource!.id}`, expect.stringContaining('Warfarin 5 MG Oral Tablet')]));
  });

  it('one DetectedIssue per class pair: two current drugs of one class give one issue implicating both (ids stay unique)', () => {
    const { result, cards } = recommendation();
    const heparin = { ...result.interactions[0], b: { ...result.interactions[0].b, drug: 'Heparin 5000 UNIT/ML' } };
    const bundle = writeBackTransaction(input({ cards, interactions: [...result.interactions, heparin] }));
    const issues = bundle.entry!.filter((e) => e.resource!.resourceType === 'DetectedIssue').map((e) => e.resource as DetectedIssue);
    expect(issues).toHaveLength(1);
    expect(issues[0].implicated).toHaveLength(3);
    const urls = bundle.entry!.map((e) => e.request!.url);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('is idempotent: the same event writes the same ids (PUT), another event other ids; no conditional entries (Medplum caps those at 8)', () => {
    const a = writeBackTransaction(input());
    const b = writeBackTransaction(input());
    expect(a.entry!.map((e) => e.request)).toEqual(b.entry!.map((e) => e.request));
    for (const e of a.entry!) {
      expect(e.request).toEqual({ method: 'PUT', url: `${e.resource!.resourceType}/${e.resource!.id}` });
      expect((e.resource as { identifier?: { system?: string }[] }).identifier![0].system).toMatch(/^http:\/\/leader-cds.org\/fhir\/identifier\//);
    }
    const other = writeBackTransaction(input({ eventId: 'reg-1/event-5' }));
    expect(other.entry![0].resource!.id).not.toBe(a.entry![0].resource!.id);
  });

  it('revokes the earlier RequestGroups in the same transaction', () => {
    const previous: RequestGroup = { resourceType: 'RequestGroup', id: 'rg-old', meta: { versionId: '1' }, status: 'active', intent: 'proposal', subject: { reference: 'Patient/p1' }, identifier: [{ system: SYSTEMS.requestGroup, value: 'reg-1/event-3' }] };
    const bundle = writeBackTransaction(input({ supersede: [previous] }));
    const last = bundle.entry!.at(-1)!;
    expect(last.request).toEqual({ method: 'PUT', url: 'RequestGroup/rg-old' });
    expect(last.resource).toMatchObject({ id: 'rg-old', status: 'revoked' });
    expect(() => validateResource(last.resource as MedplumResource)).not.toThrow();
  });

  it('a card with nothing to order (interactions only) becomes a note, keeping every action valid (rqg-1)', () => {
    const { cards } = recommendation();
    const info = { ...cards[0], summary: 'Current medications, possible interaction: A with B', detail: 'Review.', suggestions: undefined, selectionBehavior: undefined };
    const bundle = writeBackTransaction(input({ cards: [info, ...cards] }));
    const rg = bundle.entry![0].resource as RequestGroup;
    expect(rg.action).toHaveLength(cards.length);
    expect(rg.note).toEqual([expect.objectContaining({ text: expect.stringContaining('**Current medications, possible interaction: A with B** (info)') })]);
    expect(() => validateResource(rg as unknown as MedplumResource)).not.toThrow();
  });

  it('no cards (nothing likely): still one RequestGroup and GuidanceResponse for the event, no proposals', () => {
    const bundle = writeBackTransaction(input({ cards: [], interactions: [] }));
    expect(bundle.entry!.map((e) => e.resource!.resourceType)).toEqual(['RequestGroup', 'GuidanceResponse']);
    for (const e of bundle.entry!) expect(() => validateResource(e.resource as MedplumResource)).not.toThrow();
  });
});

describe('retireTransactions (a revoked recommendation leaves no draft orders or open alerts)', () => {
  beforeAll(() => loadFhirDefinitions());

  const revokedRg: RequestGroup = { resourceType: 'RequestGroup', id: 'rg-3', status: 'revoked', intent: 'proposal', subject: { reference: 'Patient/p1' }, identifier: [{ system: SYSTEMS.requestGroup, value: 'reg-1/event-3' }] };
  const written = (eventId: string) => writeBackTransaction(input({ eventId })).entry!.map((e) => e.resource!);
  const ofType = <T>(resources: unknown[], type: string) => resources.filter((r) => (r as { resourceType: string }).resourceType === type) as T[];

  it('cancels the proposals and DetectedIssues of revoked events only, valid FHIR R4; nothing left to do the second time', () => {
    const old = written('reg-1/event-3');
    const current = written('reg-1/event-4');
    const proposals = ofType<MedicationRequest>([...old, ...current], 'MedicationRequest');
    const issues = ofType<DetectedIssue>([...old, ...current], 'DetectedIssue');
    expect(ofType(old, 'MedicationRequest').length).toBeGreaterThan(0);
    expect(ofType(old, 'DetectedIssue').length).toBeGreaterThan(0);

    const bundles = retireTransactions([revokedRg], proposals, issues);
    const retired = bundles.flatMap((b) => b.entry!);
    const oldIds = new Set(old.filter((r) => r.resourceType !== 'RequestGroup' && r.resourceType !== 'GuidanceResponse').map((r) => r.id));
    expect(new Set(retired.map((e) => e.resource!.id))).toEqual(oldIds);
    for (const e of retired) {
      expect(e.request).toEqual({ method: 'PUT', url: `${e.resource!.resourceType}/${e.resource!.id}` });
      expect((e.resource as MedicationRequest | DetectedIssue).status).toBe('cancelled');
      expect(() => validateResource(e.resource as MedplumResource)).not.toThrow();
    }
    // The server now holds them cancelled: a repeat (after a crash) has nothing to send.
    const after = [...proposals, ...issues].map((r) => retired.find((e) => e.resource!.id === r.id)?.resource ?? r);
    expect(retireTransactions([revokedRg], ofType(after, 'MedicationRequest'), ofType(after, 'DetectedIssue'))).toEqual([]);
  });

  it('an event id that is a prefix of another is not mistaken for it; no revoked RequestGroups, nothing to do', () => {
    const proposals = ofType<MedicationRequest>(written('reg-1/event-30'), 'MedicationRequest');
    expect(retireTransactions([revokedRg], proposals, [])).toEqual([]);
    expect(retireTransactions([], ofType<MedicationRequest>(written('reg-1/event-3'), 'MedicationRequest'), [])).toEqual([]);
  });

  it('splits into transactions of at most RETIRE_BATCH entries (Medplum refuses more than 50 updates in one)', () => {
    const many = Array.from({ length: RETIRE_BATCH * 2 + 1 }, (_, i): MedicationRequest => ({
      resourceType: 'MedicationRequest', id: `mr-${i}`, status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p1' },
      medicationCodeableConcept: { text: 'x' }, identifier: [{ system: SYSTEMS.proposal, value: `reg-1/event-3/A${String(i).padStart(2, '0')}A` }],
    }));
    expect(retireTransactions([revokedRg], many, []).map((b) => b.entry!.length)).toEqual([RETIRE_BATCH, RETIRE_BATCH, 1]);
  });
});

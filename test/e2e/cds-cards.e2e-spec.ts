/**
 * Cards a clinician can act on (issue 10), each a real request to the real app: current
 * medications respected, interactions that matter, the order being signed, products and evidence
 * on every one-click suggestion for the MIMIC-IV demo patients, a deceased patient, feedback tied
 * to the class and product.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import type { Bundle, MedicationRequest, Resource } from 'fhir/r4';
import { buildDemoRequest } from '../../src/cds-hooks/demo/demo-request.builder';
import { openFhirSource } from '../../src/fhir/fhir-source';
import { SYSTEM } from '../../src/terminology/code-systems';
import { validateCdsResponse } from '../support/cds-response.validator';
import { CdsTestApp, draftOrder, fullPrefetch, hookRequest, startCdsApp } from '../support/cds-test-app';
import { runLeader } from '../support/leader-cli';
import { SHARED_DATA } from '../support/shared-data';


interface Card { uuid: string; summary: string; detail?: string; indicator: string; suggestions?: { label: string; uuid: string; actions: { description: string; resource: MedicationRequest }[] }[] }
const SELECT = 'leader-medications-order-select';
const SIGN = 'leader-medications-order-sign';
const VIEW = 'leader-medications-patient-view';

function cardsOf(res: request.Response): Card[] {
  expect(validateCdsResponse(res.body)).toEqual([]);
  return res.body.cards as Card[];
}

/** alice's prefetch with an active warfarin order added (as an EHR holds a chronic medication). */
function aliceOnWarfarin(): Record<string, Resource> {
  const prefetch = fullPrefetch('alice');
  const warfarin: MedicationRequest = {
    resourceType: 'MedicationRequest', id: 'alice-warfarin', status: 'active', intent: 'order', subject: { reference: 'Patient/alice' },
    authoredOn: '2019-01-01', medicationCodeableConcept: { coding: [{ system: SYSTEM.rxnorm, code: '855332', display: 'Warfarin Sodium 5 MG Oral Tablet' }] },
  };
  const bundle = prefetch.medicationRequests as Bundle;
  return { ...prefetch, medicationRequests: { ...bundle, entry: [...(bundle.entry ?? []), { resource: warfarin }] } as Resource };
}
const naproxen = draftOrder('d-naproxen', 'alice', { system: SYSTEM.rxnorm, code: '198014', display: 'Naproxen 500 MG Oral Tablet' });

describe('cards a clinician can act on (e2e)', () => {
  let t: CdsTestApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-cards-'));
    t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('active warfarin + a naproxen draft: the interaction headline names both drugs; no "new" antithrombotic suggestion', async () => {
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`)
      .send(hookRequest('order-select', 'alice', { prefetch: aliceOnWarfarin(), drafts: [naproxen] })).expect(200));
    expect(cards[0].indicator).toBe('warning');
    expect(cards[0].summary).toMatch(/^Possible interaction: Naproxen 500 MG Oral Tablet \(drafted\) with Warfarin Sodium 5 MG Oral Tablet \(current\)/);
    const suggestions = cards.find((c) => c.summary.startsWith('Consider'));
    for (const s of suggestions?.suggestions ?? []) expect(s.actions[0].resource.medicationCodeableConcept!.coding!.map((c) => c.code)).not.toContain('B01A');
    expect(suggestions?.detail ?? '').not.toMatch(/^- Antithrombotic agents/m);
  });

  it('patient-view with no drafts: no interactions among recommendations', async () => {
    const cards = cardsOf(await request(t.url).post(`/cds-services/${VIEW}`).send(hookRequest('patient-view', 'alice', { prefetch: fullPrefetch('alice') })).expect(200));
    expect(cards.length).toBeGreaterThan(0);
    expect(JSON.stringify(cards)).not.toContain('(suggested)');
    expect(cards.some((c) => c.summary.startsWith('Possible interaction'))).toBe(false);
    for (const c of cards.filter((x) => x.summary.startsWith('Current medications'))) expect(c.summary).toMatch(/\(current\) with .*\(current\)/);
  });

  it('order-sign of one order: the card is about that order', async () => {
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SIGN}`)
      .send(hookRequest('order-sign', 'alice', { prefetch: aliceOnWarfarin(), drafts: [naproxen] })).expect(200));
    expect(cards).toHaveLength(1);
    expect(cards[0].summary).toMatch(/^Naproxen 500 MG Oral Tablet: interacts with Warfarin Sodium 5 MG Oral Tablet \(current\)/);
    expect(cards[0].detail).toContain('**Naproxen 500 MG Oral Tablet** — Antiinflammatory and antirheumatic products, non-steroids (ATC M01A)');
    const unclassed = cardsOf(await request(t.url).post(`/cds-services/${SIGN}`).send(hookRequest('order-sign', 'alice', {
      prefetch: fullPrefetch('alice'), drafts: [draftOrder('d-x', 'alice', { system: 'urn:local:drugs', code: 'x1', display: 'Zyzzyx compound' })],
    })).expect(200));
    expect(unclassed[0].summary).toBe('Zyzzyx compound: not assessed by the model');
  });

  it('MedicationStatements count as current medications; the key is optional (absent, no fhirServer: still 200)', async () => {
    const prefetch = fullPrefetch('alice');
    const statement = {
      resourceType: 'MedicationStatement', id: 'ms-1', status: 'active', subject: { reference: 'Patient/alice' }, effectiveDateTime: '2019-01-01',
      medicationCodeableConcept: { coding: [{ system: SYSTEM.rxnorm, code: '855332', display: 'Warfarin Sodium 5 MG Oral Tablet' }] },
    };
    const withStatement = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', {
      prefetch: { ...prefetch, medicationStatements: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: statement }] } }, drafts: [naproxen],
    })).expect(200));
    expect(withStatement[0].summary).toMatch(/^Possible interaction: Naproxen 500 MG Oral Tablet \(drafted\) with Warfarin Sodium 5 MG Oral Tablet \(current\)/);
    const { medicationStatements: _omitted, ...without } = prefetch;
    void _omitted;
    cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', { prefetch: without })).expect(200));
  });

  it('a deceased patient gets no suggestions', async () => {
    const prefetch = fullPrefetch('alice');
    prefetch.patient = { ...prefetch.patient, deceasedBoolean: true } as unknown as Resource;
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', { prefetch })).expect(200));
    expect(cards).toHaveLength(1);
    expect(cards[0].summary).toContain('deceased');
    expect(cards[0].suggestions).toBeUndefined();
  });

  it('every one-click suggestion for the MIMIC-IV demo patients codes a product and the ATC class and carries evidence; feedback names them', async () => {
    const fhir = path.join(dataDir, 'fhir');
    const run = await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', fhir, '--quiet']);
    expect(run.code).toBe(0);
    const source = await openFhirSource(fhir);
    let patients = 0;
    let oneClick = 0;
    let accepted: { card: string; id: string; atc3: string; code: string } | undefined;
    for await (const p of source.patients()) {
      if (p.encounters.length < 2 || p.medicationRequests.length === 0) continue;
      if (++patients > 12) break;
      const res = await request(t.url).post(`/cds-services/${SELECT}`).send(buildDemoRequest(p, { hook: 'order-select' })).expect(200);
      for (const card of cardsOf(res)) {
        for (const s of card.suggestions ?? []) {
          oneClick++;
          const [product, atc] = s.actions[0].resource.medicationCodeableConcept!.coding!;
          expect([SYSTEM.rxnorm, SYSTEM.ndc]).toContain(product.system);
          expect(atc.system).toBe(SYSTEM.atc);
          expect(s.actions[0].resource.dosageInstruction).toBeUndefined();
          expect(s.actions[0].description).toMatch(/Product chosen as the (drug of this class last prescribed to this patient|product most often prescribed)/);
          const line = card.detail!.split('\n').findIndex((l) => l.includes(`(ATC ${atc.code})`));
          expect(card.detail!.split('\n')[line + 1]).toMatch(/^ {2}Why: .+ [+−]\d/);
          accepted ??= { card: card.uuid, id: s.uuid, atc3: atc.code!, code: product.code! };
        }
      }
    }
    expect(patients).toBeGreaterThan(5);
    expect(oneClick).toBeGreaterThan(0);
    await request(t.url).post(`/cds-services/${SELECT}/feedback`)
      .send({ feedback: [{ card: accepted!.card, outcome: 'accepted', acceptedSuggestions: [{ id: accepted!.id }], outcomeTimestamp: '2026-11-30T12:00:00Z' }] }).expect(200);
    const stored = JSON.parse((await fs.readFile(path.join(dataDir, 'feedback.jsonl'), 'utf8')).trim().split('\n').pop()!);
    expect(stored.suggestions).toEqual([{ id: accepted!.id, outcome: 'accepted', atc3: accepted!.atc3, product: expect.objectContaining({ code: accepted!.code }) }]);
  }, 120_000);
});

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { PrefetchResolver } from '../../src/cds-hooks/prefetch/prefetch.resolver';
import { SYSTEM } from '../../src/terminology/code-systems';
import { FhirStubServer, startFhirStubServer } from '../fixtures/fhir-stub-server';
import { validateCdsResponse } from '../support/cds-response.validator';
import { CdsTestApp, fixtureFhirResources, fullPrefetch, hookRequest, startCdsApp } from '../support/cds-test-app';

const SELECT = 'leader-medications-order-select';
const TOKEN = 'fhir-access-token-123';

/** Prefetch matrix against a real HTTP FHIR server on 127.0.0.1 serving the fixture NDJSON. */
describe(`${PrefetchResolver.name} (e2e: prefetch matrix)`, () => {
  let t: CdsTestApp;
  let tmp: string;
  let fhir: FhirStubServer;
  let reference: unknown;

  const post = (body: Record<string, unknown>) => request(t.url).post(`/cds-services/${SELECT}`).send(body);
  const searches = (type: string) => fhir.requests.filter((r) => r.path === type);

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-prefetch-'));
    t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: tmp, FHIR_TIMEOUT_MS: '400' });
    fhir = await startFhirStubServer({ resources: fixtureFhirResources(), pageSize: 2, token: TOKEN });
    // The cards with the full prefetch in the request: every other row must give the same recommendation.
    const res = await post(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') })).expect(200);
    reference = summariesOf(res.body);
  });
  afterAll(async () => {
    await t?.close();
    await fhir?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    fhir.requests.length = 0;
  });

  function summariesOf(body: { cards: { summary: string }[] }): string[] {
    expect(validateCdsResponse(body)).toEqual([]);
    return body.cards.map((c) => c.summary);
  }

  it('present: uses the prefetch and calls no FHIR server', async () => {
    const res = await post(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice'), fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(summariesOf(res.body)).toEqual(reference);
    expect(fhir.requests).toHaveLength(0);
  });

  it('absent: fetches every key from fhirServer with the bearer token, following paging, same cards', async () => {
    const res = await post(hookRequest('order-select', 'alice', { fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(summariesOf(res.body)).toEqual(reference);
    expect(fhir.requests.length).toBeGreaterThan(5);
    expect(fhir.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(searches('Condition').length).toBeGreaterThanOrEqual(4); // 8 conditions, 2 per page
    expect(searches('Patient/alice')).toHaveLength(1);
  });

  it('null: known empty, never fetched', async () => {
    const prefetch = { ...fullPrefetch('alice'), procedures: null };
    await post(hookRequest('order-select', 'alice', { prefetch, fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(searches('Procedure')).toHaveLength(0);
  });

  it('OperationOutcome: treated as absent and fetched', async () => {
    const prefetch: Record<string, unknown> = { ...fullPrefetch('alice'), conditions: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] } };
    const res = await post(hookRequest('order-select', 'alice', { prefetch, fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(summariesOf(res.body)).toEqual(reference);
    expect(searches('Condition').length).toBeGreaterThan(0);
    expect(fhir.requests.filter((r) => r.path !== 'Condition')).toHaveLength(0);
  });

  it('a paged prefetch Bundle: the next pages are read from fhirServer', async () => {
    const full = fullPrefetch('alice');
    const conditions = full.conditions as unknown as { entry: unknown[] };
    const firstPage = { ...conditions, entry: conditions.entry.slice(0, 2), link: [{ relation: 'next', url: `${fhir.url}/Condition?patient=alice&_count=2&_offset=2` }] };
    const res = await post(hookRequest('order-select', 'alice', { prefetch: { ...full, conditions: firstPage }, fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(summariesOf(res.body)).toEqual(reference);
    expect(searches('Condition').length).toBe(3);
  });

  it('412 when keys are absent and there is no fhirServer, naming each missing key', async () => {
    const { patient, conditions } = fullPrefetch('alice');
    const res = await post(hookRequest('order-select', 'alice', { prefetch: { patient, conditions } })).expect(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const text = (res.body.issue as { diagnostics: string }[]).map((i) => i.diagnostics).join('\n');
    for (const key of ['encounters', 'procedures', 'medicationRequests']) expect(text).toContain(`'${key}'`);
    expect(text).not.toContain(`'conditions'`);
  });

  it('412 when the FHIR server refuses the token', async () => {
    const res = await post(hookRequest('order-select', 'alice', { fhirServer: fhir.url, accessToken: 'wrong' })).expect(412);
    expect(JSON.stringify(res.body)).toContain('HTTP 401');
  });

  it('412 naming only the key whose search fails on the server', async () => {
    const failing = await startFhirStubServer({
      resources: fixtureFhirResources(), token: TOKEN,
      respond: (r) => (r.path === 'Procedure' ? { status: 500, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] } } : undefined),
    });
    try {
      const res = await post(hookRequest('order-select', 'alice', { fhirServer: failing.url, accessToken: TOKEN })).expect(412);
      expect(res.body.issue).toHaveLength(1);
      expect(res.body.issue[0].diagnostics).toContain(`'procedures'`);
    } finally {
      await failing.close();
    }
  });

  it('412 when the FHIR server does not answer within FHIR_TIMEOUT_MS', async () => {
    const slow = await startFhirStubServer({ resources: fixtureFhirResources(), delayMs: 1500 });
    try {
      const started = Date.now();
      const res = await post(hookRequest('order-select', 'alice', { fhirServer: slow.url })).expect(412);
      expect(JSON.stringify(res.body)).toContain('did not answer in time');
      expect(Date.now() - started).toBeLessThan(1400);
    } finally {
      await slow.close();
    }
  });

  it('takes the CDS Hooks Sandbox order-select call as sent: no Bundle.type, object category and reasonCode, RxNorm drug', async () => {
    const open = await startFhirStubServer({ resources: fixtureFhirResources() });
    try {
      const { patient, conditions } = fullPrefetch('alice');
      const body = {
        hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', hook: 'order-select', fhirServer: open.url,
        context: {
          patientId: 'alice', userId: 'Practitioner/COREPRACTITIONER1', selections: ['MedicationRequest/request-123'],
          draftOrders: { resourceType: 'Bundle', entry: [{ resource: {
            resourceType: 'MedicationRequest', id: 'request-123', status: 'draft', subject: { reference: 'Patient/alice' }, authoredOn: '2026-11-27', intent: 'order',
            dosageInstruction: [{ timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }, doseAndRate: [{ doseQuantity: { value: 2, system: 'http://unitsofmeasure.org', code: '{pill}' } }] }],
            category: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'community' }] },
            medicationCodeableConcept: { text: 'Acetaminophen 80 MG Chewable Tablet [Tylenol]', coding: [{ display: 'Acetaminophen 80 MG Chewable Tablet [Tylenol]', system: SYSTEM.rxnorm, code: '731370' }] },
            reasonCode: { text: 'Essential hypertension', coding: [{ system: SYSTEM.snomed, code: '59621000', display: 'Essential hypertension' }] },
          } }] },
        },
        prefetch: { patient, conditions },
      };
      const res = await post(body).expect(200);
      expect(validateCdsResponse(res.body)).toEqual([]);
      // Acetaminophen is N02B: drafted, so it is not suggested again.
      const suggested = (res.body.cards as { suggestions?: { actions: { resource: { medicationCodeableConcept: { coding: { code: string }[] } } }[] }[] }[])
        .flatMap((c) => c.suggestions ?? []).map((s) => s.actions[0].resource.medicationCodeableConcept.coding[0].code);
      expect(suggested).not.toContain('N02B');
      expect(open.requests.every((r) => r.authorization === undefined)).toBe(true);
      expect(open.requests.map((r) => r.path).sort()).toEqual(expect.arrayContaining(['Encounter', 'MedicationRequest', 'Procedure']));
    } finally {
      await open.close();
    }
  });
});

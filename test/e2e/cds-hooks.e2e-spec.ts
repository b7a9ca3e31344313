import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { CdsHooksController } from '../../src/cds-hooks/cds-hooks.controller';
import { runDemoRequestCommand } from '../../src/cli/commands/demo-request.command';
import { SYSTEM } from '../../src/terminology/code-systems';
import { validateCdsResponse } from '../support/cds-response.validator';
import { CdsTestApp, draftOrder, fullPrefetch, hookRequest, sharedServingData, startCdsApp } from '../support/cds-test-app';

interface Card { uuid: string; summary: string; detail?: string; indicator: string; source: { label: string; url?: string }; suggestions?: Suggestion[]; selectionBehavior?: string; overrideReasons?: unknown[] }
interface Suggestion { label: string; uuid: string; actions: { type: string; description: string; resource: Record<string, any> }[] }

const SELECT = 'leader-medications-order-select';
const SIGN = 'leader-medications-order-sign';
const VIEW = 'leader-medications-patient-view';

/** Every CDS response of this suite goes through the cds-resp validator. */
function cardsOf(res: request.Response): Card[] {
  expect(validateCdsResponse(res.body)).toEqual([]);
  return res.body.cards as Card[];
}
/** The classes listed as suggested on the suggestion card (most likely first; one-click or not). */
const suggestedClasses = (cards: Card[]): string[] => {
  const detail = cards.find((c) => c.summary.startsWith('Consider'))?.detail ?? '';
  const list = detail.split('**Continue**')[0];
  return [...list.matchAll(/\(ATC ([A-Z0-9]{4})\)|\(([A-Z][0-9]{2}[A-Z])\) \d+%/g)].map((m) => m[1] ?? m[2]);
};

describe(`${CdsHooksController.name} (e2e, auth disabled)`, () => {
  let t: CdsTestApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-e2e-'));
    t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('serves discovery from cds-hooks.json: three hooks, 2.0 prefetch templates', async () => {
    const res = await request(t.url).get('/cds-services').set('Accept', 'application/json').expect(200);
    const services = res.body.services as { hook: string; id: string; title: string; description: string; prefetch: Record<string, string> }[];
    expect(services.map((s) => s.hook).sort()).toEqual(['order-select', 'order-sign', 'patient-view']);
    for (const s of services) {
      expect(s.id && s.title && s.description).toBeTruthy();
      expect(Object.keys(s.prefetch).sort()).toEqual(['conditions', 'encounters', 'medicationRequests', 'medicationStatements', 'patient', 'procedures']);
      for (const template of Object.values(s.prefetch)) expect(template.match(/\{\{[^}]*\}\}/g)).toEqual(['{{context.patientId}}']);
    }
  });

  it('answers the CORS preflight the Sandbox sends with 204 and the needed headers', async () => {
    const res = await request(t.url).options(`/cds-services/${SELECT}`)
      .set('Origin', 'http://127.0.0.1:8090').set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type').expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers'].toLowerCase()).toContain('authorization');
    expect(res.headers['access-control-allow-headers'].toLowerCase()).toContain('content-type');
  });

  it('order-select: suggests likely classes as draft MedicationRequests (200, not 201), source links to the model card', async () => {
    const { model } = await sharedServingData();
    const res = await request(t.url).post(`/cds-services/${SELECT}`)
      .send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice'), encounterId: 'alice-adm-3' })).expect(200);
    const cards = cardsOf(res);
    const suggested = cards.find((c) => c.summary.startsWith('Consider'));
    expect(suggested).toBeDefined();
    if (suggested!.suggestions) expect(suggested!.selectionBehavior).toBe('any');
    expect(suggested!.overrideReasons!.length).toBeGreaterThan(0);
    expect(suggested!.source.label).toBe(`${model.manifest.name} ${model.manifest.version}`);
    for (const s of suggested!.suggestions ?? []) {
      expect(s.uuid).toMatch(/^[0-9a-f-]{36}$/);
      const mr = s.actions[0].resource;
      expect(s.actions[0].type).toBe('create');
      expect(mr).toMatchObject({ resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/alice' }, encounter: { reference: 'Encounter/alice-adm-3' } });
      expect(mr.medicationCodeableConcept.coding[1].system).toBe(SYSTEM.atc);
      const i = model.manifest.labels.indexOf(mr.medicationCodeableConcept.coding[1].code);
      expect(i).toBeGreaterThanOrEqual(0);
    }
    // The link is built from the configuration (here the demo's http://localhost:PORT), never from the Host header.
    expect(suggested!.source.url).toBe(`http://localhost:${t.config.port}/models/${encodeURIComponent(model.manifest.name)}`);
    const page = await request(t.url).get(new URL(suggested!.source.url!).pathname).expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    for (const heading of ['Provenance', 'Population', 'Data', 'Metrics', 'Threshold', 'Limits', 'Evidence']) expect(page.text).toContain(`<h2>${heading}</h2>`);
    const json = await request(t.url).get(`/models/${model.manifest.name}?format=json`).expect(200);
    expect(json.body.threshold.value).toBe(model.manifest.threshold);
    expect(json.body.evidence).toContain('not a cause');
    expect(json.body.population).toContain('inpatients');
    if (model.manifest.teacher === null) expect(json.body.provenance.method).toContain('no LLM teacher');
    await request(t.url).get('/models/no-such-model').expect(404);
  });

  it('does not suggest a class again once it is drafted (ATC-coded draft)', async () => {
    const first = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') })).expect(200));
    const top = suggestedClasses(first)[0];
    expect(top).toBeDefined();
    const again = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', {
      prefetch: fullPrefetch('alice'), drafts: [draftOrder('draft-1', 'alice', { system: SYSTEM.atc, code: top })],
    })).expect(200));
    expect(suggestedClasses(again)).not.toContain(top);
    expect(suggestedClasses(again).sort()).toEqual(suggestedClasses(first).filter((c) => c !== top).sort());
  });

  it('warns when drafted classes form an interacting pair of the model\'s DDI matrix, naming both', async () => {
    const { model } = await sharedServingData();
    const [i, j] = model.ddi.pairs[0];
    const a = model.ddi.labels[i];
    const b = model.ddi.labels[j];
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', {
      prefetch: fullPrefetch('alice'),
      drafts: [draftOrder('d-a', 'alice', { system: SYSTEM.atc, code: a }), draftOrder('d-b', 'alice', { system: SYSTEM.atc, code: b })],
    })).expect(200));
    const warning = cards.find((c) => c.indicator === 'warning' && c.summary.startsWith('Possible interaction'));
    expect(warning).toBeDefined();
    expect(warning!.detail).toContain(a);
    expect(warning!.detail).toContain(b);
  });

  it('order-sign: reviews the drafted order, saying when the model finds its class unlikely', async () => {
    const { model } = await sharedServingData();
    const base = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') })).expect(200));
    const detail = base.map((c) => c.detail ?? '').join('\n');
    const unlikely = model.manifest.labels.find((l) => !detail.includes(l))!;
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SIGN}`).send(hookRequest('order-sign', 'alice', {
      prefetch: fullPrefetch('alice'), drafts: [draftOrder('d-1', 'alice', { system: SYSTEM.atc, code: unlikely })],
    })).expect(200));
    expect(cards).toHaveLength(1);
    expect(cards[0].summary).toContain(`(${unlikely}): `);
    expect(cards[0].summary).toContain("below the model's threshold");
    expect(cards[0].detail).toContain(`ATC ${unlikely}`);
  });

  it('patient-view: the same recommendations as an informational card without actions', async () => {
    const cards = cardsOf(await request(t.url).post(`/cds-services/${VIEW}`).send(hookRequest('patient-view', 'alice', { prefetch: fullPrefetch('alice') })).expect(200));
    expect(cards.length).toBeGreaterThan(0);
    expect(cards[0].indicator).toBe('info');
    expect(cards[0].suggestions).toBeUndefined();
  });

  it('serves a first-visit patient (empty history) and says so on the card', async () => {
    const prefetch = { patient: { resourceType: 'Patient', id: 'newbie', gender: 'female', birthDate: '1960-05-01' }, encounters: null, conditions: null, procedures: null, medicationRequests: null };
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('order-select', 'newbie', {
      prefetch, drafts: [{ ...draftOrder('d-1', 'newbie', { system: SYSTEM.rxnorm, code: '731370', display: 'Acetaminophen 80 MG Chewable Tablet [Tylenol]' }) }],
    })).expect(200));
    expect(cards.some((c) => (c.detail ?? '').includes('history was empty'))).toBe(true);
  });

  it.each([
    ['no hookInstance', (b: Record<string, any>) => { delete b.hookInstance; }, 'hookInstance'],
    ['hook of another service', (b: Record<string, any>) => { b.hook = 'patient-view'; }, 'does not match'],
    ['draftOrders not a Bundle', (b: Record<string, any>) => { b.context.draftOrders = { resourceType: 'List' }; }, 'draftOrders'],
    ['bad patientId', (b: Record<string, any>) => { b.context.patientId = 'a b'; }, 'patientId'],
    ['prefetch of another patient', (b: Record<string, any>) => { b.prefetch.conditions = fullPrefetch('bob').conditions; }, 'another patient'],
  ])('answers 400 with an OperationOutcome for %s', async (_name, edit, expected) => {
    const body = hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') });
    edit(body);
    const res = await request(t.url).post(`/cds-services/${SELECT}`).send(body).expect(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).toContain(expected);
    expect(JSON.stringify(res.body)).not.toContain('at ');
  });

  it('answers 404 for an unknown service and for malformed JSON a 400', async () => {
    const res = await request(t.url).post('/cds-services/nope').send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') })).expect(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    await request(t.url).post(`/cds-services/${SELECT}`).set('Content-Type', 'application/json').send('{"hook":').expect(400);
  });

  it('stores feedback durably and idempotently, and summarises it (also after a restart)', async () => {
    const fb = { card: 'c-1', outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: '2026-11-27T14:56:28.771Z' };
    const sandboxDismiss = { card: 'c-2', outcome: 'overridden', outcomeTimestamp: '2026-11-27T14:57:00.000Z' };
    const withReason = { card: 'c-3', outcome: 'overridden', overrideReason: { reason: { code: 'not-indicated', system: 'http://leader-cds.org/fhir/CodeSystem/override-reason' } }, outcomeTimestamp: '2026-11-27T14:58:00Z' };
    let res = await request(t.url).post(`/cds-services/${SELECT}/feedback`).send({ feedback: [fb, sandboxDismiss, withReason] }).expect(200);
    expect(res.body).toEqual({ stored: 3, duplicates: 0 });
    res = await request(t.url).post(`/cds-services/${SELECT}/feedback`).send({ feedback: [fb] }).expect(200);
    expect(res.body).toEqual({ stored: 0, duplicates: 1 });
    await request(t.url).post(`/cds-services/${SELECT}/feedback`).send({ feedback: [{ card: 'c-4', outcome: 'accepted', outcomeTimestamp: '2026-11-27T15:00:00Z' }] }).expect(400);
    await request(t.url).post(`/cds-services/${SELECT}/feedback`).send({ feedback: [{ card: 'c-4', outcome: 'maybe', outcomeTimestamp: '2026-11-27T15:00:00Z' }] }).expect(400);
    await request(t.url).post('/cds-services/nope/feedback').send({ feedback: [fb] }).expect(404);
    const summary = (await request(t.url).get(`/cds-services/${SELECT}/feedback/summary`).expect(200)).body;
    expect(summary).toMatchObject({ total: 3, accepted: 1, overridden: 2, cards: 3, acceptedSuggestions: 1 });
    expect(summary.overrideReasons).toEqual([{ code: 'not-indicated', system: 'http://leader-cds.org/fhir/CodeSystem/override-reason', count: 1 }]);

    await t.close();
    t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir });
    expect((await request(t.url).get(`/cds-services/${SELECT}/feedback/summary`).expect(200)).body).toEqual(summary);
    res = await request(t.url).post(`/cds-services/${SELECT}/feedback`).send({ feedback: [fb] }).expect(200);
    expect(res.body).toEqual({ stored: 0, duplicates: 1 });
    const lines = (await fs.readFile(path.join(dataDir, 'feedback.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
  });

  it('answers a `leader demo-request` order-select request with cards, and the CLI names bad patients', async () => {
    const fhir = path.join(__dirname, '..', 'fixtures', 'cds', 'fhir');
    let body = '';
    const notes: string[] = [];
    await runDemoRequestCommand({ patient: 'alice', fhir, hook: 'order-select', url: t.url }, (text) => { body += text; }, (text) => notes.push(text));
    const demo = JSON.parse(body);
    expect(demo).toMatchObject({ hook: 'order-select', context: { patientId: 'alice' } });
    expect(Object.keys(demo.prefetch).sort()).toEqual(['conditions', 'encounters', 'medicationRequests', 'medicationStatements', 'patient', 'procedures']);
    expect(demo.context.draftOrders.resourceType).toBe('Bundle');
    expect(notes.join('')).toContain(`/cds-services/${SELECT}`);
    const cards = cardsOf(await request(t.url).post(`/cds-services/${SELECT}`).send(demo).expect(200));
    expect(cards.length).toBeGreaterThan(0);
    await expect(runDemoRequestCommand({ patient: 'nobody', fhir, hook: 'order-select', url: t.url }, () => {}, () => {}))
      .rejects.toThrow(/--patient nobody: no Patient with that id or identifier/);
  });

  it('has liveness and readiness endpoints', async () => {
    await request(t.url).get('/health/live').expect(200, { status: 'ok' });
    const ready = await request(t.url).get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ready');
  });
});

import type { INestApplication } from '@nestjs/common';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.factory';
import { createLogger } from '../../src/common/logger';
import { loadAppConfig } from '../../src/config/app-config';
import { draftOrder, fixtureFhirResources, fullPrefetch, hookRequest, sharedServingData } from '../support/cds-test-app';
import { type FakeFhirServer, startFakeFhirServer } from '../support/fake-fhir.server';

const TOKEN = 'user-token-for-alice-3f9a';

interface Schema { [k: string]: unknown }

/** A copy of an OpenAPI schema that refuses undeclared properties, so "matches" means no field goes undocumented. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

describe('POST /api/v1/recommendations (the app API)', () => {
  let fhir: FakeFhirServer;
  let app: INestApplication;
  let url: string;
  let dataDir: string;
  const logLines: string[] = [];
  let openapi: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };
  let ajv: Ajv.Ajv;

  beforeAll(async () => {
    fhir = await startFakeFhirServer(fixtureFhirResources(), { [TOKEN]: 'alice', 'token-of-nobody': null });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'smart-api-'));
    const config = loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, SMART_FHIR_SERVERS: `${fhir.base}/`, LOG_LEVEL: 'debug' });
    const { model, terminology } = await sharedServingData();
    const sink = new Writable({ write(chunk: Buffer, _e, done) { logLines.push(chunk.toString()); done(); } });
    app = await createApp({ config, logger: createLogger('debug', sink), model, terminology });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    openapi = (await (await fetch(`${url}/api/docs-json`)).json()) as typeof openapi;
    ajv = new Ajv({ allErrors: true, nullable: true } as Ajv.Options);
    ajv.addSchema({ components: closed(openapi.components) }, 'openapi');
  });

  afterAll(async () => {
    await app?.close();
    await fhir?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (body: unknown, token: string | null = TOKEN, route = 'recommendations') => fetch(`${url}/api/v1/${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  /** The response body, checked against the OpenAPI document's schema for this path and status. */
  async function documented(res: Response, route = '/api/v1/recommendations'): Promise<Record<string, unknown>> {
    const body = (await res.json()) as Record<string, unknown>;
    const declared = openapi.paths[route].post.responses[String(res.status)];
    expect(declared).toBeDefined();
    const schema = declared.content?.['application/json']?.schema as { $ref: string };
    const ok = ajv.validate({ $ref: `openapi${schema.$ref}` }, body);
    if (!ok) throw new Error(`${res.status} body does not match the OpenAPI document: ${ajv.errorsText()}`);
    return body;
  }

  it('serves a valid OpenAPI 3 document and Swagger UI at /api/docs', async () => {
    expect(openapi).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    // Checked against the OpenAPI 3 schema, every $ref resolved (on a copy: validate dereferences in place).
    await expect(SwaggerParser.validate(structuredClone(openapi) as never)).resolves.toBeDefined();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/recommendations', '/api/v1/feedback']));
    expect(Object.keys(openapi.paths['/api/v1/recommendations'].post.responses).sort()).toEqual(['200', '400', '401', '403', '404', '412']);
    const ui = await fetch(`${url}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('answers every label, the interactions and the timeline with names, through the FHIR server with the user\'s token', async () => {
    const res = await post({ fhirServer: fhir.base, patient: 'alice' });
    expect(res.status).toBe(200);
    const body = await documented(res);
    const { model } = await sharedServingData();
    expect(body.model).toMatchObject({ name: model.manifest.name, version: model.manifest.version, threshold: model.manifest.threshold });
    const labels = body.labels as { atc3: string; probability: number; aboveThreshold: boolean; status: string }[];
    expect(labels.length).toBe(model.manifest.labels.length);
    for (const l of labels) {
      expect(l.probability).toBeGreaterThanOrEqual(0);
      expect(l.aboveThreshold).toBe(l.probability > model.manifest.threshold);
      expect(['new', 'continued', 'drafted']).toContain(l.status);
    }
    const probs = labels.map((l) => l.probability);
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
    const timeline = body.timeline as { target: boolean; diagnoses: { code: string; name?: string }[]; medications: { drug: string }[] }[];
    expect(timeline.length).toBeGreaterThan(0);
    expect(timeline[timeline.length - 1].target).toBe(true);
    expect(timeline.flatMap((v) => v.diagnoses).some((d) => d.name)).toBe(true);
    // The token went to the FHIR server on every request, and nowhere into the service's logs.
    const reads = fhir.requests.filter((r) => r.url.includes('alice'));
    expect(reads.length).toBeGreaterThanOrEqual(5);
    expect(reads.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('gives the same classes and probabilities as the order-select hook for the same data and drafts', async () => {
    const draft = draftOrder('d1', 'alice', { system: 'http://www.whocc.no/atc', code: 'C09AA02', display: 'enalapril' });
    const api = await documented(await post({ fhirServer: fhir.base, patient: 'alice', draftOrders: [draft] }));
    const hook = await fetch(`${url}/cds-services/leader-medications-order-select`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice'), drafts: [draft] })),
    });
    expect(hook.status).toBe(200);
    const cards = (await hook.json()) as { cards: { summary: string; detail?: string }[] };
    const labels = api.labels as { atc3: string; probability: number; status: string; suggested: boolean }[];
    expect(labels.find((l) => l.atc3 === 'C09A')?.status).toBe('drafted');
    const suggested = labels.filter((l) => l.suggested);
    const suggestionCard = cards.cards.find((c) => c.summary.startsWith('Consider'));
    if (suggested.length > 0) {
      expect(suggestionCard?.detail).toContain(suggested[0].atc3);
      expect(suggestionCard?.detail).toContain(`${Math.round(suggested[0].probability * 100)}%`);
    }
  });

  it('401 without a bearer token, before any request to the FHIR server', async () => {
    const before = fhir.requests.length;
    const res = await post({ fhirServer: fhir.base, patient: 'alice' }, null);
    expect(res.status).toBe(401);
    expect((await documented(res)).resourceType).toBe('OperationOutcome');
    expect(fhir.requests.length).toBe(before);
  });

  it('400 for a FHIR server not on the allow-list, before any outbound request', async () => {
    const before = fhir.requests.length;
    for (const server of ['http://169.254.169.254/latest', fhir.base.replace('/fhir', '/other'), 'file:///etc/passwd', `${fhir.base}?x=1`]) {
      const res = await post({ fhirServer: server, patient: 'alice' });
      expect(res.status).toBe(400);
      const body = await documented(res);
      expect(JSON.stringify(body)).toContain('SMART_FHIR_SERVERS');
    }
    expect(fhir.requests.length).toBe(before);
  });

  it('403 passed on when the FHIR server refuses the token', async () => {
    const other = await post({ fhirServer: fhir.base, patient: 'bob' });
    expect(other.status).toBe(403);
    expect(JSON.stringify(await documented(other))).toContain('refused');
    const nobody = await post({ fhirServer: fhir.base, patient: 'alice' }, 'token-of-nobody');
    expect(nobody.status).toBe(403);
    const unknown = await post({ fhirServer: fhir.base, patient: 'alice' }, 'expired-token');
    expect(unknown.status).toBe(403);
  });

  it('404 for a patient the FHIR server does not hold; 412 when it cannot be reached', async () => {
    const fhir2 = await startFakeFhirServer([], { t: 'ghost' });
    const config = loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, SMART_FHIR_SERVERS: `${fhir2.base},http://127.0.0.1:9/fhir`, LOG_LEVEL: 'silent' });
    const { model, terminology } = await sharedServingData();
    const app2 = await createApp({ config, logger: createLogger('silent'), model, terminology });
    await app2.listen(0, '127.0.0.1');
    const url2 = `http://127.0.0.1:${(app2.getHttpServer().address() as AddressInfo).port}`;
    try {
      const call = (fhirServer: string) => fetch(`${url2}/api/v1/recommendations`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer t' }, body: JSON.stringify({ fhirServer, patient: 'ghost' }) });
      const missing = await call(fhir2.base);
      expect(missing.status).toBe(404);
      expect(JSON.stringify(await documented(missing))).toContain('not found');
      const down = await call('http://127.0.0.1:9/fhir');
      expect(down.status).toBe(412);
      expect(JSON.stringify(await documented(down))).toContain('unreachable');
    } finally {
      await app2.close();
      await fhir2.close();
    }
  });

  it('400 with an OperationOutcome for every malformed body', async () => {
    const bad: unknown[] = [
      '{not json', [], {}, { fhirServer: fhir.base }, { patient: 'alice' }, { fhirServer: fhir.base, patient: '../Patient/bob' },
      { fhirServer: fhir.base, patient: 'alice', encounter: 'a b' }, { fhirServer: fhir.base, patient: 'alice', draftOrders: 'x' },
      { fhirServer: fhir.base, patient: 'alice', draftOrders: [{ resourceType: 'Patient' }] },
      { fhirServer: fhir.base, patient: 'alice', draftOrders: [{ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/alice' } }] },
      { fhirServer: fhir.base, patient: 'alice', draftOrders: [draftOrder('x', 'bob', { system: 'http://www.whocc.no/atc', code: 'C09AA02' })] },
    ];
    for (const body of bad) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect((await documented(res)).resourceType).toBe('OperationOutcome');
    }
  });

  it('records a draft order and a decline in the feedback store, checking the token with the FHIR server', async () => {
    const accepted = await post({ fhirServer: fhir.base, patient: 'alice', atc3: 'B01A', outcome: 'accepted', draftOrder: 'MedicationRequest/new-1', product: { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '855332', display: 'Warfarin 5 mg' }, outcomeTimestamp: '2026-01-02T03:04:05Z' }, TOKEN, 'feedback');
    expect(accepted.status).toBe(200);
    expect(await documented(accepted, '/api/v1/feedback')).toEqual({ stored: 1, duplicates: 0 });
    const declined = await post({ fhirServer: fhir.base, patient: 'alice', atc3: 'N02B', outcome: 'overridden', overrideReason: { code: 'not-indicated' }, outcomeTimestamp: '2026-01-02T03:04:06Z' }, TOKEN, 'feedback');
    expect(declined.status).toBe(200);
    const refused = await post({ fhirServer: fhir.base, patient: 'bob', atc3: 'N02B', outcome: 'overridden', overrideReason: { code: 'not-indicated' }, outcomeTimestamp: '2026-01-02T03:04:06Z' }, TOKEN, 'feedback');
    expect(refused.status).toBe(403);
    const badReason = await post({ fhirServer: fhir.base, patient: 'alice', atc3: 'N02B', outcome: 'overridden', overrideReason: { code: 'because' }, outcomeTimestamp: '2026-01-02T03:04:06Z' }, TOKEN, 'feedback');
    expect(badReason.status).toBe(400);
    const stored = readFileSync(path.join(dataDir, 'feedback.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(stored).toEqual([
      expect.objectContaining({ serviceId: 'leader-smart-app', outcome: 'accepted', acceptedSuggestions: ['MedicationRequest/new-1'], suggestions: [expect.objectContaining({ atc3: 'B01A' })] }),
      expect.objectContaining({ serviceId: 'leader-smart-app', outcome: 'overridden', overrideReason: { reason: expect.objectContaining({ code: 'not-indicated' }) } }),
    ]);
  });
});

/**
 * `leader ehr` delivering FHIR Subscriptions to a small HTTP receiver in this test: Backport R4
 * topic-based (handshake, heartbeat, event-notification, the three payload levels, $status,
 * $events), classic R4 rest-hooks (empty POST, PUT {Type}/{id}, headers, Medplum X-Signature),
 * retries, and the --faults switches. Waits are generous: a busy 2-core machine is five times slower.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, CapabilityStatement, Encounter, OperationOutcome, Parameters, ParametersParameter, Subscription } from 'fhir/r4';
import { exportJWK, generateKeyPair, type KeyLike, SignJWT } from 'jose';
import { type EhrProcess, startEhrProcess } from '../support/ehr-process';
import { repoRoot } from '../support/leader-cli';

const FIXTURE_NDJSON = path.join(repoRoot, 'test', 'fixtures', 'cds', 'fhir');
const TOPIC = 'http://leader-cds.org/fhir/SubscriptionTopic/patient-chart-change';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const SECRET_URL = 'https://medplum.com/fhir/StructureDefinition/subscription-secret';
const WAIT_MS = 30_000;

interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface DeliveryRecord {
  seq: number;
  subscription: string;
  type: string;
  eventNumbers: number[];
  status: number | null;
  attempt: number;
  outcome: string;
  fault?: string;
}

/** Records every request; a path's answers can be scripted (default 200). */
class Receiver {
  readonly received: Received[] = [];
  readonly answers = new Map<string, number[]>();
  /** Paths whose requests get no answer until `release()`. */
  readonly holding = new Set<string>();
  private readonly held: (() => void)[] = [];
  /** Paths whose deliveries must carry this header value (else 401), as a subscriber checks its secret. */
  readonly secrets = new Map<string, string>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path_ = new URL(req.url ?? '/', 'http://x').pathname;
        this.received.push({ method: req.method ?? '', path: path_, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const base = `/${path_.split('/')[1]}`;
        if (this.holding.has(base)) {
          this.held.push(() => res.writeHead(200).end());
          return;
        }
        const secret = this.secrets.get(base);
        const status = secret !== undefined && req.headers['x-leader-secret'] !== secret ? 401 : this.answers.get(base)?.shift() ?? 200;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    this.holding.clear();
    for (const answer of this.held.splice(0)) answer();
  }

  at(prefix: string): Received[] {
    return this.received.filter((r) => r.path === prefix || r.path.startsWith(`${prefix}/`));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(bundle: Bundle): Parameters {
  return bundle.entry?.[0].resource as Parameters;
}

function param(p: Parameters, name: string): ParametersParameter | undefined {
  return p.parameter?.find((x) => x.name === name);
}

function eventNumbers(bundle: Bundle): string[] {
  return (statusOf(bundle).parameter ?? []).filter((p) => p.name === 'notification-event').map((p) => p.part?.find((x) => x.name === 'event-number')?.valueString ?? '?');
}

function notifications(received: Received[], type?: string): Bundle[] {
  return received.filter((r) => r.method === 'POST' && r.body).map((r) => JSON.parse(r.body) as Bundle).filter((b) => !type || param(statusOf(b), 'type')?.valueCode === type);
}

describe('leader ehr Subscriptions (e2e: the built CLI, a local receiver)', () => {
  let tmp: string;
  let ehr: EhrProcess;
  const receiver = new Receiver();
  let token = '';
  let writerToken = '';
  const created: string[] = [];

  const fhir = async <T = Record<string, unknown>>(p: string, init: RequestInit & { as?: string } = {}) => {
    const res = await fetch(`${ehr.fhirBase}/${p}`, {
      ...init,
      headers: { Accept: 'application/fhir+json', Authorization: `Bearer ${init.as ?? token}`, ...(init.body ? { 'Content-Type': 'application/fhir+json' } : {}) },
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const post = <T = Record<string, unknown>>(type: string, resource: object, as?: string) => fhir<T>(type, { method: 'POST', body: JSON.stringify(resource), as });
  const ehrJson = async <T>(p: string, init: RequestInit = {}) => (await (await fetch(`${ehr.url}${p}`, { ...init, headers: init.body ? { 'Content-Type': 'application/json' } : {} })).json()) as T;
  const deliveries = (subscription: string) => ehrJson<{ deliveries: DeliveryRecord[] }>(`/ehr/deliveries?subscription=${subscription}`).then((d) => d.deliveries);
  const subscriptionStatus = async (id: string) => (await fhir<Subscription>(`Subscription/${id}`)).body;

  function backport(hook: string, content: string, extra: { patient?: string; heartbeat?: number; secret?: string } = {}): Subscription {
    return {
      resourceType: 'Subscription', status: 'requested', reason: 'leader-cds e2e', criteria: TOPIC,
      ...(extra.patient ? { _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `patient=Patient/${extra.patient}` }] } } : {}),
      ...(extra.secret ? { extension: [{ url: SECRET_URL, valueString: extra.secret }] } : {}),
      channel: {
        type: 'rest-hook', endpoint: `${receiver.url}${hook}`, payload: 'application/fhir+json', header: ['X-Leader-Secret: s3cret'],
        _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: content }] },
        ...(extra.heartbeat ? { extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: extra.heartbeat }] } : {}),
      },
    } as Subscription;
  }

  async function subscribe(sub: Subscription): Promise<string> {
    const res = await post<Subscription>('Subscription', sub);
    expect(res.status).toBe(201);
    created.push(res.body.id as string);
    return res.body.id as string;
  }

  async function subscribeActive(sub: Subscription): Promise<string> {
    const id = await subscribe(sub);
    await waitFor(`Subscription/${id} active`, async () => (await subscriptionStatus(id)).status === 'active');
    return id;
  }

  /** A fresh patient, so that a filtered Subscription sees only this test's events. */
  async function newPatient(): Promise<string> {
    const res = await post<{ id: string }>('Patient', { resourceType: 'Patient', name: [{ family: `E2e${randomUUID().slice(0, 6)}` }] });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  const encounter = (patient: string, status = 'finished'): Encounter => ({ resourceType: 'Encounter', status: status as Encounter['status'], class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: `Patient/${patient}` } });

  async function backendToken(tokenUrl: string, key: KeyLike, clientId: string, scope: string): Promise<string> {
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS384', kid: `${clientId}-k`, typ: 'JWT' })
      .setIssuer(clientId).setSubject(clientId).setAudience(tokenUrl).setJti(randomUUID()).setIssuedAt().setExpirationTime('10m').sign(key);
    const res = await fetch(tokenUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'leader-ehr-subs-e2e-'));
    const { publicKey, privateKey } = await generateKeyPair('RS384');
    const jwk = { ...(await exportJWK(publicKey)), alg: 'RS384' };
    writeFileSync(path.join(tmp, 'clients.json'), JSON.stringify({
      clients: [
        { client_id: 'subscriber', name: 'Subscriber', type: 'backend', scope: 'system/*.cruds', jwks: { keys: [{ ...jwk, kid: 'subscriber-k' }] } },
        { client_id: 'writer', name: 'Chart writer', type: 'backend', scope: 'system/Encounter.cru system/Condition.cru system/Subscription.r', jwks: { keys: [{ ...jwk, kid: 'writer-k' }] } },
      ],
    }));
    await receiver.start();
    ehr = await startEhrProcess(['--fhir', FIXTURE_NDJSON, '--clients', path.join(tmp, 'clients.json'), '--faults', '--delivery-attempts', '3', '--delivery-backoff-ms', '100']);
    const tokenUrl = ((await (await fetch(`${ehr.fhirBase}/.well-known/smart-configuration`)).json()) as { token_endpoint: string }).token_endpoint;
    token = await backendToken(tokenUrl, privateKey, 'subscriber', 'system/*.cruds');
    writerToken = await backendToken(tokenUrl, privateKey, 'writer', 'system/Encounter.cru system/Condition.cru system/Subscription.r');
  }, 240_000);

  afterEach(async () => {
    // Faults and Subscriptions are global: each test starts from none.
    await ehrJson('/ehr/faults', { method: 'DELETE' });
    for (const id of created.splice(0)) await fhir(`Subscription/${id}`, { method: 'DELETE' });
  });

  afterAll(async () => {
    await ehr?.stop();
    await receiver.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('advertises the topic and $status/$events in the CapabilityStatement', async () => {
    const cs = (await (await fetch(`${ehr.fhirBase}/metadata`)).json()) as CapabilityStatement;
    const sub = cs.rest?.[0].resource?.find((r) => r.type === 'Subscription');
    expect(sub?.extension).toEqual([{ url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`, valueCanonical: TOPIC }]);
    expect(sub?.operation?.map((o) => o.name)).toEqual(['status', 'events']);
  });

  it('refuses Subscriptions without the scope, a non-http endpoint or an unknown topic (4xx with an OperationOutcome)', async () => {
    const denied = await post<OperationOutcome>('Subscription', backport('/x', 'id-only'), writerToken);
    expect(denied.status).toBe(403);
    const ftp = backport('/x', 'id-only');
    ftp.channel.endpoint = 'ftp://127.0.0.1/hook';
    const bad = await post<OperationOutcome>('Subscription', ftp);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].details?.text).toMatch(/channel.endpoint.*http\(s\)/);
    const unknown = await post<OperationOutcome>('Subscription', { ...backport('/x', 'id-only'), criteria: 'http://example.org/SubscriptionTopic/other' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].details?.text).toMatch(/unknown topic/);
  });

  it('handshakes, activates, and delivers id-only event notifications numbered from 1 with focus and patient', async () => {
    const id = await subscribe(backport('/idonly', 'id-only', { patient: 'alice' }));
    const handshake = await waitFor('the handshake', () => notifications(receiver.at('/idonly'), 'handshake')[0]);
    expect(param(statusOf(handshake), 'status')?.valueCode).toBe('requested');
    expect(param(statusOf(handshake), 'subscription')?.valueReference?.reference).toBe(`${ehr.fhirBase}/Subscription/${id}`);
    expect(receiver.at('/idonly')[0].headers['x-leader-secret']).toBe('s3cret');
    expect(receiver.at('/idonly')[0].headers['content-type']).toBe('application/fhir+json');
    await waitFor('status active', async () => (await subscriptionStatus(id)).status === 'active');

    // The chart writer (not the subscriber) changes alice's chart; bob's change and a proposal are not events of this Subscription.
    const enc = await post<{ id: string }>('Encounter', encounter('alice'), writerToken);
    expect(enc.status).toBe(201);
    expect((await post('Encounter', encounter('bob'), writerToken)).status).toBe(201);
    await post('MedicationRequest', { resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/alice' }, medicationCodeableConcept: { text: 'ACE inhibitors' } });
    const cond = await post<{ id: string }>('Condition', { resourceType: 'Condition', subject: { reference: 'Patient/alice' }, code: { text: 'Hypertension' } }, writerToken);
    const events = await waitFor('two event notifications', () => {
      const got = notifications(receiver.at('/idonly'), 'event-notification');
      return got.length >= 2 ? got : undefined;
    });
    expect(events.map(eventNumbers)).toEqual([['1'], ['2']]);
    const first = statusOf(events[0]);
    expect(param(first, 'status')?.valueCode).toBe('active');
    expect(param(first, 'events-since-subscription-start')?.valueString).toBe('1');
    const parts = param(first, 'notification-event')?.part ?? [];
    expect(parts.find((p) => p.name === 'focus')?.valueReference?.reference).toBe(`${ehr.fhirBase}/Encounter/${enc.body.id}`);
    expect(parts.find((p) => p.name === 'additional-context')?.valueReference?.reference).toBe(`${ehr.fhirBase}/Patient/alice`);
    expect(events[0].entry?.[1]).toEqual({ fullUrl: `${ehr.fhirBase}/Encounter/${enc.body.id}`, request: { method: 'POST', url: 'Encounter' }, response: { status: '201' } });
    expect(events[1].entry?.[1].fullUrl).toBe(`${ehr.fhirBase}/Condition/${cond.body.id}`);
    await sleep(500);
    expect(notifications(receiver.at('/idonly'), 'event-notification')).toHaveLength(2);

    // $status and $events, GET and POST.
    const status = await fhir<Bundle>(`Subscription/${id}/$status`);
    expect(status.status).toBe(200);
    expect(param(statusOf(status.body), 'type')?.valueCode).toBe('query-status');
    expect(param(statusOf(status.body), 'events-since-subscription-start')?.valueString).toBe('2');
    const all = await fhir<Bundle>(`Subscription/${id}/$events?eventsSinceNumber=1&content=full-resource`);
    expect(param(statusOf(all.body), 'type')?.valueCode).toBe('query-event');
    expect(eventNumbers(all.body)).toEqual(['1', '2']);
    expect(all.body.entry?.slice(1).map((e) => e.resource?.resourceType)).toEqual(['Encounter', 'Condition']);
    const second = await fhir<Bundle>(`Subscription/${id}/$events`, { method: 'POST', body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'eventsSinceNumber', valueString: '2' }, { name: 'eventsUntilNumber', valueString: '2' }] }) });
    expect(eventNumbers(second.body)).toEqual(['2']);
    expect(second.body.entry?.[1].resource).toBeUndefined();
    expect((await fhir(`Subscription/${id}/$events?eventsSinceNumber=x`)).status).toBe(400);
    expect(eventNumbers((await fhir<Bundle>(`Subscription/${id}/$events`, { method: 'POST' })).body)).toEqual(['1', '2']);
  });

  it('delivers after the FHIR request has answered: an endpoint that does not answer holds up no request', async () => {
    const patient = await newPatient();
    await subscribeActive(backport('/slow', 'id-only', { patient }));
    receiver.holding.add('/slow');
    try {
      expect((await post('Encounter', encounter(patient))).status).toBe(201);
      await waitFor('the unanswered delivery', () => notifications(receiver.at('/slow'), 'event-notification')[0]);
      expect((await post('Condition', { resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: 'x' } })).status).toBe(201);
      expect((await fhir<Bundle>(`Encounter?subject=Patient/${patient}&_summary=count`)).body.total).toBe(1);
      expect(notifications(receiver.at('/slow'), 'event-notification')).toHaveLength(1); // event 2 waits for event 1's answer
    } finally {
      receiver.release();
    }
    const both = await waitFor('event 2 after event 1 was answered', () => {
      const got = notifications(receiver.at('/slow'), 'event-notification');
      return got.length >= 2 ? got : undefined;
    });
    expect(both.map(eventNumbers)).toEqual([['1'], ['2']]);
  });

  it('full-resource and empty payloads, a transaction (events after commit only) and a heartbeat', async () => {
    const patient = await newPatient();
    await subscribeActive(backport('/full', 'full-resource', { patient }));
    await subscribeActive(backport('/empty', 'empty', { patient, heartbeat: 1 }));
    const transaction = {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: 'urn:uuid:3f0c3c1e-0c55-4f0e-8a53-6f1f3f9d2a01', resource: encounter(patient), request: { method: 'POST', url: 'Encounter' } },
        { resource: { resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, encounter: { reference: 'urn:uuid:3f0c3c1e-0c55-4f0e-8a53-6f1f3f9d2a01' }, code: { text: 'Heart failure' } }, request: { method: 'POST', url: 'Condition' } },
      ],
    };
    expect((await post('', transaction)).status).toBe(200);
    // A failing transaction writes nothing, so it notifies nothing.
    const failing = { ...transaction, entry: [transaction.entry[0], { resource: { resourceType: 'Patient', id: patient }, request: { method: 'PUT', url: `Patient/${patient}`, ifMatch: 'W/"not-the-version"' } }] };
    expect((await post('', failing)).status).toBeGreaterThanOrEqual(400);
    const full = await waitFor('two full-resource notifications', () => {
      const got = notifications(receiver.at('/full'), 'event-notification');
      return got.length >= 2 ? got : undefined;
    });
    expect(full.map(eventNumbers)).toEqual([['1'], ['2']]);
    expect(full[0].entry?.[1].resource).toMatchObject({ resourceType: 'Encounter', subject: { reference: `Patient/${patient}` } });
    expect(full[1].entry?.[1].resource).toMatchObject({ resourceType: 'Condition', code: { text: 'Heart failure' } });
    const empty = await waitFor('two empty notifications', () => {
      const got = notifications(receiver.at('/empty'), 'event-notification');
      return got.length >= 2 ? got : undefined;
    });
    expect(empty.every((b) => b.entry?.length === 1)).toBe(true);
    expect(param(statusOf(empty[0]), 'notification-event')?.part?.map((p) => p.name)).toEqual(['event-number', 'timestamp']);
    const heartbeat = await waitFor('a heartbeat', () => notifications(receiver.at('/empty'), 'heartbeat')[0]);
    expect(param(statusOf(heartbeat), 'events-since-subscription-start')?.valueString).toBe('2');
    await sleep(1000);
    expect(notifications(receiver.at('/full'), 'event-notification')).toHaveLength(2);
  });

  it('classic R4 rest-hooks: an empty POST, or PUT {Type}/{id} with the resource, with headers and a correct X-Signature', async () => {
    const patient = await newPatient();
    const classic = (criteria: string, hook: string, payload: boolean): Subscription => ({
      resourceType: 'Subscription', status: 'requested', reason: 'classic', criteria,
      extension: [{ url: SECRET_URL, valueString: 'hmac-key' }],
      channel: { type: 'rest-hook', endpoint: `${receiver.url}${hook}`, header: ['X-Leader-Secret: s3cret', 'X-Other: 1'], ...(payload ? { payload: 'application/fhir+json' } : {}) },
    });
    const emptyId = await subscribeActive(classic(`Encounter?subject=Patient/${patient}&status=finished`, '/classic-empty', false));
    await subscribeActive(classic(`Condition?subject=Patient/${patient}`, '/classic-put', true));
    await post('Encounter', encounter(patient, 'planned')); // does not match status=finished
    const enc = await post<{ id: string }>('Encounter', encounter(patient));
    const cond = await post<{ id: string; meta: { versionId: string } }>('Condition', { resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: 'CKD' } });
    const emptyPost = await waitFor('the empty POST', () => receiver.at('/classic-empty')[0]);
    expect(emptyPost).toMatchObject({ method: 'POST', path: '/classic-empty', body: '' });
    expect(emptyPost.headers['content-type']).toBeUndefined();
    expect(emptyPost.headers['x-leader-secret']).toBe('s3cret');
    expect(emptyPost.headers['x-other']).toBe('1');
    expect(emptyPost.headers['x-signature']).toBe(createHmac('sha256', 'hmac-key').update('').digest('hex'));
    const put = await waitFor('the PUT', () => receiver.at('/classic-put')[0]);
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(`/classic-put/Condition/${cond.body.id}`);
    expect(JSON.parse(put.body)).toMatchObject({ resourceType: 'Condition', id: cond.body.id, meta: { versionId: cond.body.meta.versionId } });
    expect(put.headers['x-signature']).toBe(createHmac('sha256', 'hmac-key').update(put.body).digest('hex'));
    await sleep(500);
    expect(receiver.at('/classic-empty')).toHaveLength(1);
    expect((await deliveries(emptyId)).map((d) => d.eventNumbers)).toEqual([[1]]);
    expect(enc.status).toBe(201);
    expect((await fhir(`Subscription/${emptyId}/$events`)).status).toBe(400);
  });

  it('fault switches: duplicate, reorder, drop, wrong secret; $events still holds the dropped event', async () => {
    const patient = await newPatient();
    receiver.secrets.set('/faults', 's3cret');
    const id = await subscribeActive(backport('/faults', 'id-only', { patient, secret: 'sig-key' }));
    const numbers = () => notifications(receiver.at('/faults'), 'event-notification').map((b) => eventNumbers(b).join(','));

    expect(await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ duplicate: 1 }) })).toMatchObject({ duplicate: 1, reorder: 0 });
    await post('Encounter', encounter(patient));
    await waitFor('event 1 twice', () => numbers().length >= 2);
    expect(numbers()).toEqual(['1', '1']);

    await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ reorder: 1 }) });
    await post('Encounter', encounter(patient));
    await sleep(300);
    await post('Encounter', encounter(patient));
    await waitFor('events 2 and 3', () => numbers().length >= 4);
    expect(numbers()).toEqual(['1', '1', '3', '2']);

    await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ drop: 1 }) });
    await post('Encounter', encounter(patient));
    await post('Encounter', encounter(patient));
    await waitFor('event 5', () => numbers().includes('5'));
    expect(numbers()).toEqual(['1', '1', '3', '2', '5']);
    const log = await deliveries(id);
    expect(log.find((d) => d.eventNumbers[0] === 4)).toMatchObject({ outcome: 'dropped', fault: 'drop', status: null });
    expect(eventNumbers((await fhir<Bundle>(`Subscription/${id}/$events?eventsSinceNumber=4&eventsUntilNumber=4`)).body)).toEqual(['4']);

    // A wrong secret: the receiver answers 401 to every attempt, so the Subscription goes to error; the next good delivery reactivates it.
    expect(await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ wrongSecret: 1 }) })).toMatchObject({ wrongSecret: 1 });
    await post('Encounter', encounter(patient));
    await waitFor('status error', async () => (await subscriptionStatus(id)).status === 'error');
    const wrong = receiver.at('/faults').at(-1) as Received;
    expect(wrong.headers['x-leader-secret']).not.toBe('s3cret');
    expect(wrong.headers['x-signature']).not.toBe(createHmac('sha256', 'sig-key').update(wrong.body).digest('hex'));
    expect((await deliveries(id)).filter((d) => d.eventNumbers[0] === 6).map((d) => [d.attempt, d.status, d.fault])).toEqual([[1, 401, 'wrong-secret'], [2, 401, 'wrong-secret'], [3, 401, 'wrong-secret']]);
    expect((await subscriptionStatus(id)).error).toMatch(/failed 3 times; last: HTTP 401/);
    await post('Encounter', encounter(patient));
    await waitFor('status active again', async () => (await subscriptionStatus(id)).status === 'active');
    const good = receiver.at('/faults').at(-1) as Received;
    expect(good.headers['x-signature']).toBe(createHmac('sha256', 'sig-key').update(good.body).digest('hex'));
    expect(await ehrJson('/ehr/faults')).toEqual({ duplicate: 0, reorder: 0, drop: 0, wrongSecret: 0, fhirErrors: { count: 0, status: 503 } });
  });

  it('reorder with no notification following: the held one goes out when the heartbeat is due, in its place', async () => {
    const patient = await newPatient();
    const id = await subscribeActive(backport('/held', 'id-only', { patient, heartbeat: 1 }));
    await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ reorder: 1 }) });
    await post('Encounter', encounter(patient));
    const late = await waitFor('the held event', () => notifications(receiver.at('/held'), 'event-notification')[0]);
    expect(eventNumbers(late)).toEqual(['1']);
    // (A heartbeat may come before the Encounter on a slow machine; the event's own record says it was held.)
    expect((await deliveries(id)).find((d) => d.type === 'event-notification')).toMatchObject({ eventNumbers: [1], fault: 'reorder', outcome: 'delivered' });
  });

  it('retries with backoff, goes to error when the endpoint stays down, and re-handshakes when PUT back to requested', async () => {
    const patient = await newPatient();
    receiver.answers.set('/flaky', [503, 500]);
    const id = await subscribeActive(backport('/flaky', 'id-only', { patient }));
    expect((await deliveries(id)).map((d) => [d.type, d.attempt, d.status])).toEqual([['handshake', 1, 503], ['handshake', 2, 500], ['handshake', 3, 200]]);

    // Nothing listens on a closed port: three attempts, then error with Subscription.error.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = backport('/x', 'id-only', { patient });
    down.channel.endpoint = `http://127.0.0.1:${deadPort}/hook`;
    const downId = await subscribe(down);
    const failed = await waitFor('status error', async () => {
      const s = await subscriptionStatus(downId);
      return s.status === 'error' ? s : undefined;
    });
    expect(failed.error).toMatch(/handshake to .* failed 3 times/);
    expect((await deliveries(downId)).map((d) => [d.attempt, d.status, d.outcome])).toEqual([[1, null, 'failed'], [2, null, 'failed'], [3, null, 'failed']]);
    // The integrator fixes the endpoint and asks again: a new handshake, then active.
    const fixed = { ...failed, status: 'requested', channel: { ...failed.channel, endpoint: `${receiver.url}/fixed` } } as Subscription;
    delete fixed.error;
    expect((await fhir(`Subscription/${downId}`, { method: 'PUT', body: JSON.stringify(fixed) })).status).toBe(200);
    await waitFor('status active', async () => (await subscriptionStatus(downId)).status === 'active');
    expect(notifications(receiver.at('/fixed'), 'handshake')).toHaveLength(1);
  });

  it('fhirErrors: the FHIR API answers the injected status to the next matching requests without processing them', async () => {
    const patient = await newPatient();
    const set = await ehrJson('/ehr/faults', { method: 'POST', body: JSON.stringify({ fhirErrors: { count: 1, methods: ['POST'] } }) });
    expect(set).toMatchObject({ fhirErrors: { count: 1, status: 503, methods: ['POST'] } });
    expect((await fhir(`Patient/${patient}`)).status).toBe(200); // a GET is not a POST
    const refused = await post<OperationOutcome>('Encounter', encounter(patient));
    expect(refused.status).toBe(503);
    expect(refused.body.issue[0].code).toBe('transient');
    expect((await fhir<Bundle>(`Encounter?subject=Patient/${patient}&_summary=count`)).body.total).toBe(0);
    expect((await post('Encounter', encounter(patient))).status).toBe(201);
    expect((await fhir<Bundle>(`Encounter?subject=Patient/${patient}&_summary=count`)).body.total).toBe(1);
    const bad = await fetch(`${ehr.url}/ehr/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ explode: 1 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OperationOutcome).issue[0].details?.text).toMatch(/explode: unknown fault/);
  });
});

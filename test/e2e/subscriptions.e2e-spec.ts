/**
 * FHIR Subscriptions end to end (issue 15): `leader ehr --faults` (child process) delivers Backport R4
 * topic notifications to the service (child process, so it can be killed with SIGKILL), placed by
 * `leader subscribe`. A new admission and diagnosis for a MIMIC-IV demo patient must end in exactly one
 * write-back per event whose proposals are the classes order-select suggests for that visit; then
 * duplicated, reordered and dropped deliveries, 503s from the FHIR server and a kill -9 between the
 * acknowledgement and the write-back must each still end in exactly one write-back per event.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateResource } from '@medplum/core';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import { chromium } from 'playwright-core';
import type { Bundle, DetectedIssue, Encounter, GuidanceResponse, MedicationRequest, RequestGroup, Resource } from 'fhir/r4';
import { loadFhirDefinitions } from '../../src/ehr/fhir-definitions';
import { BackendTokenClient } from '../../src/subscriptions/backend-token';
import { ORDER_INTENTS } from '../../src/subscriptions/subscription-resource';
import { SubscriptionStore } from '../../src/subscriptions/subscription.store';
import { SYSTEMS } from '../../src/subscriptions/write-back.builder';
import { type EhrProcess, startEhrProcess } from '../support/ehr-process';
import { repoRoot, runLeader } from '../support/leader-cli';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { describeWithShared, SHARED_DATA } from '../support/shared-data';

const ATC = 'http://www.whocc.no/atc';
/** A MIMIC-IV demo patient (subject 10002495 … its UUIDv5 id) whose next admission brings interacting suggestions. */
const PATIENT = '76202c51-1b9d-5cc2-a7bc-3dfb2ac3ab32';
const SETTLE_MS = 240_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = SETTLE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describeWithShared(path.join(SHARED_DATA, 'mimic-iv-demo-2.2'))('FHIR Subscriptions: leader subscribe + leader ehr --faults + the service (kill -9 safe)', () => {
  let tmp: string;
  let ehr: EhrProcess;
  let service: ServiceProcess;
  let env: Record<string, string>;
  let tokens: BackendTokenClient;
  let registration: string;
  let subscription: string;
  let encounterId: string;

  const headers = async () => ({ Authorization: `Bearer ${await tokens.token(ehr.fhirBase)}`, 'Content-Type': 'application/fhir+json' });
  const fhir = async <T = Resource>(method: string, url: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${ehr.fhirBase}/${url}`, { method, headers: await headers(), ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = await r.json() as T;
    if (!r.ok) throw new Error(`${method} ${url}: HTTP ${r.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  const search = async <T extends Resource>(query: string): Promise<T[]> => ((await fhir<Bundle>('GET', query)).entry ?? []).map((e) => e.resource as T).filter((r) => r.resourceType === query.split('?')[0]);
  const faults = (body: object) => fetch(`${ehr.url}/ehr/faults`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }).then((r) => r.json());
  const deliveries = async (): Promise<{ eventNumbers: number[]; status: number | null; outcome: string; fault?: string; type: string }[]> =>
    ((await (await fetch(`${ehr.url}/ehr/deliveries?subscription=${subscription}`)).json()) as { deliveries: never[] }).deliveries;
  const serverEvents = async () => {
    const status = await fhir<Bundle>('GET', `Subscription/${subscription}/$status`);
    const p = (status.entry![0].resource as unknown as { parameter: { name: string; valueString?: string }[] }).parameter;
    return Number(p.find((x) => x.name === 'events-since-subscription-start')!.valueString);
  };
  const writeBacks = () => search<RequestGroup>(`RequestGroup?subject=Patient/${PATIENT}&_count=1000`);
  const condition = (code: string) => ({ resourceType: 'Condition', subject: { reference: `Patient/${PATIENT}` }, encounter: { reference: `Encounter/${encounterId}` }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] } });

  /** After a kill, the same service on the same port (the Subscription's endpoint names it). */
  const restartService = () => startServiceProcess({ ...env, PORT: new URL(service.url).port });

  /** Every event 1..n has exactly one RequestGroup, and there are no others. */
  async function settled(n: number): Promise<RequestGroup[]> {
    return waitFor(`one write-back for each of events 1..${n}`, async () => {
      const rgs = await writeBacks();
      const keys = rgs.map((rg) => rg.identifier!.find((i) => i.system === SYSTEMS.requestGroup)!.value!);
      const expected = Array.from({ length: n }, (_, i) => `${registration}/event-${i + 1}`);
      if (keys.length > n) throw new Error(`more write-backs than events: ${keys.sort().join(', ')}`);
      return expected.every((k) => keys.filter((x) => x === k).length === 1) && keys.length === n ? rgs : undefined;
    });
  }

  beforeAll(async () => {
    loadFhirDefinitions();
    tmp = mkdtempSync(path.join(tmpdir(), 'subs-e2e-'));
    const fhirDir = path.join(tmp, 'fhir');
    const converted = await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', fhirDir, '--quiet']);
    if (converted.code !== 0) throw new Error(`mimic-to-fhir failed: ${converted.stderr}`);
    // The key pair and clients file as scripts/demo.sh makes them.
    const keys = await runLeader(['subscribe', 'backend-client', '--key', path.join(tmp, 'key.json'), '--clients', path.join(tmp, 'clients.json'), '--scope', 'system/*.cruds']);
    expect(keys).toMatchObject({ code: 0, stderr: '' });
    ehr = await startEhrProcess(['--fhir', fhirDir, '--clients', path.join(tmp, 'clients.json'), '--faults', '--delivery-backoff-ms', '300']);
    env = {
      LEADER_DATA_DIR: path.join(tmp, 'data'), CDS_AUTH_DISABLED: 'true', LOG_LEVEL: 'info',
      SUBSCRIPTIONS_CLIENT_ID: 'leader-cds-backend', SUBSCRIPTIONS_PRIVATE_KEY_FILE: path.join(tmp, 'key.json'),
      SUBSCRIPTIONS_SCOPE: 'system/*.cruds', SUBSCRIPTIONS_RETRY_BASE_MS: '300', SUBSCRIPTIONS_POLL_MS: '250',
    };
    tokens = new BackendTokenClient({ clientId: 'leader-cds-backend', privateKeyFile: env.SUBSCRIPTIONS_PRIVATE_KEY_FILE, scope: 'system/*.cruds' });
    service = await startServiceProcess(env);
    const created = await runLeader(['subscribe', 'create', '--fhir', ehr.fhirBase, '--service', service.url, '--heartbeat', '2'], env);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    [, subscription, registration] = /created Subscription\/(\S+) \(topic: .*\/fhir-notifications\/(\S+)$/m.exec(created.stdout)!;
    await waitFor('the handshake', async () => ((await fhir<{ status: string }>('GET', `Subscription/${subscription}`)).status === 'active' ? true : undefined));
  });

  afterAll(async () => {
    await service?.stop();
    await ehr?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a new admission and diagnosis: one write-back per event, proposals = order-select\'s classes for the visit, DetectedIssues, all valid FHIR R4', async () => {
    const last = readFileSync(path.join(tmp, 'fhir', 'Encounter.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Encounter)
      .filter((e) => e.subject?.reference === `Patient/${PATIENT}`).map((e) => e.period?.end ?? e.period?.start ?? '').sort().at(-1)!;
    const start = new Date(Date.parse(last) + 86_400_000).toISOString();
    const encounter = await fhir<Encounter>('POST', 'Encounter', { resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: `Patient/${PATIENT}` }, period: { start } });
    encounterId = encounter.id!;
    await fhir('POST', 'Condition', condition('I50.9'));
    const rgs = await settled(2);

    const active = rgs.filter((rg) => rg.status === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ intent: 'proposal', subject: { reference: `Patient/${PATIENT}` }, encounter: { reference: `Encounter/${encounterId}` }, identifier: [{ value: `${registration}/event-2` }] });
    expect(rgs.find((rg) => rg.id !== active[0].id)!.status).toBe('revoked');
    // The revoked recommendation leaves no draft orders and no open alerts behind; the current one's stay.
    const ofEvent = (r: MedicationRequest | DetectedIssue, event: string) => r.identifier!.some((i) => i.value!.startsWith(`${registration}/${event}/`));
    await waitFor('the revoked recommendation\'s proposals and DetectedIssues cancelled', async () => {
      const stale = [
        ...(await search<MedicationRequest>(`MedicationRequest?subject=Patient/${PATIENT}&intent=proposal&_count=1000`)),
        ...(await search<DetectedIssue>(`DetectedIssue?patient=Patient/${PATIENT}&_count=1000`)),
      ].filter((r) => ofEvent(r, 'event-1') && r.status !== 'cancelled');
      return stale.length === 0 ? true : undefined;
    });
    const event1Proposals = (await search<MedicationRequest>(`MedicationRequest?subject=Patient/${PATIENT}&intent=proposal&_count=1000`)).filter((r) => ofEvent(r, 'event-1'));
    expect(event1Proposals.length).toBeGreaterThan(0);

    const proposals = await Promise.all(active[0].action!.flatMap((a) => a.action ?? []).map((a) => fhir<MedicationRequest>('GET', a.resource!.reference!)));
    expect(proposals.length).toBeGreaterThan(0);
    for (const mr of proposals) expect(mr).toMatchObject({ status: 'draft', intent: 'proposal', encounter: { reference: `Encounter/${encounterId}` } });
    const written = proposals.map((mr) => mr.medicationCodeableConcept!.coding!.find((c) => c.system === ATC)!.code).sort();

    // What order-select answers for the same visit, with the same data (the patient's orders, not proposals).
    const token = await tokens.token(ehr.fhirBase);
    const orders = await fhir<Bundle>('GET', `MedicationRequest?patient=${PATIENT}&intent=${ORDER_INTENTS}&_include=MedicationRequest:medication&_count=1000`);
    const hook = await fetch(`${service.url}/cds-services/leader-medications-order-select`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        hook: 'order-select', hookInstance: randomUUID(), fhirServer: ehr.fhirBase,
        fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 300, scope: 'system/*.cruds', subject: 'leader-cds-backend' },
        context: { userId: 'Practitioner/e2e', patientId: PATIENT, encounterId, selections: [], draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [] } },
        prefetch: { medicationRequests: orders },
      }),
    });
    expect(hook.status).toBe(200);
    const cards = (await hook.json() as { cards: { suggestions?: { actions: { resource: MedicationRequest }[] }[] }[] }).cards;
    const suggested = cards.flatMap((c) => c.suggestions ?? []).map((s) => s.actions[0].resource.medicationCodeableConcept!.coding!.find((c) => c.system === ATC)!.code).sort();
    expect(written).toEqual(suggested);

    const guidance = await search<GuidanceResponse>(`GuidanceResponse?subject=Patient/${PATIENT}`);
    expect(guidance.map((g) => g.requestIdentifier!.value).sort()).toEqual([`${registration}/event-1`, `${registration}/event-2`]);
    const issues = (await search<DetectedIssue>(`DetectedIssue?patient=Patient/${PATIENT}&_count=1000`)).filter((d) => d.identifier![0].value!.startsWith(`${registration}/event-2/`));
    // This patient's suggestions interact with current medications (with models/default); whatever the
    // model, DetectedIssues are written exactly when the order-select card flags an interaction.
    const cardDetail = (cards as { detail?: string }[]).map((c) => c.detail ?? '').join('\n');
    expect(issues.length > 0).toBe(/⚠ interacts with/.test(cardDetail));
    const proposalRefs = new Set(proposals.map((mr) => `MedicationRequest/${mr.id}`));
    for (const d of issues) {
      expect(d.identifier![0].value!.split('/').pop()!.split('+').some((c) => written.includes(c) || (active[0].action![0].description ?? '').includes(`(ATC ${c})`))).toBe(true);
      expect(d.implicated!.some((r) => r.reference !== undefined && proposalRefs.has(r.reference)) || d.implicated!.some((r) => /suggested\)$/.test(r.display ?? ''))).toBe(true);
    }
    for (const r of [...rgs, ...proposals, ...guidance, ...issues]) expect(() => validateResource(r as unknown as MedplumResource)).not.toThrow();
  });

  it('a duplicated delivery: acknowledged twice, written once', async () => {
    await faults({ duplicate: 1 });
    await fhir('POST', 'Condition', condition('E11.9'));
    await settled(3);
    const twice = (await deliveries()).filter((d) => d.eventNumbers.includes(3) && d.type === 'event-notification');
    expect(twice.map((d) => [d.status, d.fault ?? null])).toEqual([[200, null], [200, 'duplicate']]);
  });

  it('reordered deliveries: both written once, only the newest recommendation active', async () => {
    await faults({ reorder: 1 });
    await fhir('POST', 'Condition', condition('N17.9'));
    await fhir('POST', 'Condition', condition('J18.9'));
    const rgs = await settled(5);
    const order = (await deliveries()).filter((d) => d.type === 'event-notification' && d.status === 200).map((d) => d.eventNumbers[0]);
    expect(order.indexOf(5)).toBeLessThan(order.lastIndexOf(4));
    await waitFor('one active RequestGroup', async () => ((await writeBacks()).filter((rg) => rg.status === 'active').length === 1 ? true : undefined));
    expect(rgs).toHaveLength(5);
  });

  it('a dropped delivery: the heartbeat reveals the gap, $events recovers the event, written once', async () => {
    await faults({ drop: 1 });
    await fhir('POST', 'Condition', condition('D64.9'));
    await settled(6);
    expect((await deliveries()).filter((d) => d.eventNumbers.includes(6)).map((d) => d.outcome)).toEqual(['dropped']);
    expect(service.log()).toContain('recovered missing events with $events');
  });

  it('503s from the FHIR server on the write-back: retried with backoff, written once', async () => {
    await faults({ fhirErrors: { count: 2, status: 503, methods: ['POST'] } });
    // A PUT creates the Condition (client-assigned id), so the test's own write is not the request that fails.
    const id = randomUUID();
    await fhir('PUT', `Condition/${id}`, { ...condition('R65.20'), id });
    await settled(7);
    expect(((await (await fetch(`${ehr.url}/ehr/faults`)).json()) as { fhirErrors: { count: number } }).fhirErrors.count).toBe(0);
    expect(service.log()).toMatch(/"job":"event-7".*"subscriptions: will retry"/);
  });

  it('kill -9 of the service between the acknowledgement and the write-back: nothing lost, nothing written twice', async () => {
    await faults({ fhirErrors: { count: 1_000_000, status: 503, methods: ['POST'] } });
    const id = randomUUID();
    await fhir('PUT', `Condition/${id}`, { ...condition('I48.91'), id });
    await waitFor('event 8 acknowledged and its write-back refused', async () => (/"job":"event-8".*"subscriptions: will retry"/.test(service.log()) ? true : undefined));
    await service.kill9();
    await fetch(`${ehr.url}/ehr/faults`, { method: 'DELETE' });
    expect((await writeBacks()).some((rg) => rg.identifier![0].value === `${registration}/event-8`)).toBe(false);
    service = await restartService();
    await settled(8);
    expect(await serverEvents()).toBe(8);
  });

  it('kill -9 at a random moment after the acknowledgement (three rounds): still one write-back per event', async () => {
    for (let round = 0; round < 3; round++) {
      const n = 9 + round;
      await fhir('POST', 'Condition', condition('Z99.89'));
      await waitFor(`event ${n} acknowledged`, async () => ((await deliveries()).some((d) => d.eventNumbers.includes(n) && d.status === 200) ? true : undefined));
      // Anywhere from before the worker claims the job to after its transaction committed.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 2500)));
      await service.kill9();
      service = await restartService();
      await settled(n);
    }
  });

  it('leader subscribe list and dead-letters report the state; a bad option is one line and a non-zero exit', async () => {
    const list = await runLeader(['subscribe', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`Subscription/${subscription} topic .*: active, server events 11, heard 11, .*dead 0 \\[registration ${registration}\\]`));
    expect((await runLeader(['subscribe', 'dead-letters'], env)).stdout).toBe('no dead letters\n');
    const bad = await runLeader(['subscribe', 'create', '--fhir', ehr.fhirBase, '--payload', 'everything'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toEqual(['leader: --payload everything: expected empty, id-only, full-resource']);
    const noKey = await runLeader(['subscribe', 'list'], { ...env, SUBSCRIPTIONS_PRIVATE_KEY_FILE: '' });
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toMatch(/^leader: Invalid environment variables: SUBSCRIPTIONS_CLIENT_ID and SUBSCRIPTIONS_PRIVATE_KEY_FILE go together/);
  });

  it('classic R4 (HAPI PUT with channel.header and Medplum X-Signature; empty POST re-queried): one write-back per new version', async () => {
    const removed = await runLeader(['subscribe', 'delete', '--id', registration], env);
    expect(removed).toMatchObject({ code: 0, stdout: `deleted Subscription/${subscription} and registration ${registration}\n` });
    const put = await runLeader(['subscribe', 'create', '--classic', '--fhir', ehr.fhirBase, '--service', service.url, '--patient', PATIENT], env);
    expect(put.code).toBe(0);
    expect(put.stdout.trim().split('\n').map((l) => /\(classic: (\w+)\?/.exec(l)?.[1])).toEqual(['Encounter', 'Condition', 'Procedure', 'MedicationRequest']);
    const empty = await runLeader(['subscribe', 'create', '--classic', '--payload', 'empty', '--fhir', ehr.fhirBase, '--service', service.url, '--patient', PATIENT], env);
    expect(empty.code).toBe(0);
    const before = (await writeBacks()).length;
    const created = await fhir<Resource>('POST', 'Condition', condition('K92.2'));
    const key = `Condition/${created.id}/_history/${created.meta!.versionId}`;
    // Two classic Subscriptions match (PUT with the resource, and an empty POST that makes the service re-query): two registrations, one write-back each.
    const rgs = await waitFor('both classic write-backs', async () => {
      const mine = (await writeBacks()).filter((rg) => rg.identifier![0].value!.endsWith(`/${key}`));
      return mine.length === 2 ? mine : undefined;
    });
    expect(new Set(rgs.map((rg) => rg.identifier![0].value!.split('/')[0])).size).toBe(2);
    expect((await writeBacks()).length).toBe(before + 2);
  });

  it('the endpoint refuses what is not from the server or not a notification: 404, 401, 400, 415 with OperationOutcomes; Medplum X-Signature accepted', async () => {
    const store = SubscriptionStore.open(path.join(env.LEADER_DATA_DIR, 'subscriptions.sqlite'));
    const reg = store.registrations().find((r) => r.criteria.startsWith('Encounter?'))!;
    store.close();
    const { secret } = reg;
    const endpoint = `${service.url}/fhir-notifications/${reg.id}`;
    // An Encounter the server does not hold: accepted, then dropped by the worker (nothing written).
    const body = JSON.stringify({ resourceType: 'Encounter', id: 'not-on-server', meta: { versionId: '1' }, status: 'finished', class: { code: 'IMP' }, subject: { reference: `Patient/${PATIENT}` } });
    const send = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) => fetch(url, { method: 'POST', ...init }).then(async (r) => ({ status: r.status, json: await r.json() as { resourceType: string; issue: { diagnostics?: string }[] } }));
    const json = { 'Content-Type': 'application/fhir+json' };
    const unknown = await send(`${service.url}/fhir-notifications/${randomUUID()}`, { headers: { ...json, Authorization: `Bearer ${secret}` }, body });
    expect(unknown).toMatchObject({ status: 404, json: { resourceType: 'OperationOutcome' } });
    const noSecret = await send(endpoint, { headers: json, body });
    // 401s say only `login`, as everywhere in the service.
    expect(noSecret).toEqual({ status: 401, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] } });
    const wrong = await send(endpoint, { headers: { ...json, Authorization: 'Bearer nope' }, body });
    expect(wrong.status).toBe(401);
    const badSignature = await send(`${endpoint}/Encounter/not-on-server`, { method: 'PUT', headers: { ...json, 'X-Signature': createHmac('sha256', 'other').update(body).digest('hex') }, body });
    expect(badSignature).toEqual({ status: 401, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] } });
    const signed = await send(`${endpoint}/Encounter/not-on-server`, { method: 'PUT', headers: { ...json, 'X-Signature': createHmac('sha256', secret).update(body).digest('hex') }, body });
    expect(signed).toMatchObject({ status: 200, json: { issue: [{ diagnostics: 'classic-resource: 1 new job(s) queued' }] } });
    const mismatch = await send(`${endpoint}/Condition/not-on-server`, { method: 'PUT', headers: { ...json, Authorization: `Bearer ${secret}` }, body });
    expect(mismatch).toMatchObject({ status: 400, json: { issue: [{ diagnostics: 'the URL names Condition/not-on-server but the body is a Encounter' }] } });
    const notNotification = await send(endpoint, { headers: { ...json, Authorization: `Bearer ${secret}` }, body: JSON.stringify({ resourceType: 'Bundle', type: 'history', entry: [] }) });
    expect(notNotification.status).toBe(400);
    const text = await send(endpoint, { headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${secret}` }, body: 'hello' });
    expect(text.status).toBe(415);
    const proto = await send(endpoint, { headers: { ...json, Authorization: `Bearer ${secret}` }, body: '{"resourceType":"Bundle","__proto__":{"x":1}}' });
    expect(proto.status).toBe(400);
    await waitFor('the stray Encounter dropped', async () => {
      const dead = await fetch(`${endpoint}/dead-letters`, { headers: { Authorization: `Bearer ${secret}` } }).then((r) => r.json()) as { counts: { pending: number; done: number; dead: number } };
      return dead.counts.pending === 0 && dead.counts.dead === 0 ? dead : undefined;
    });
    expect((await writeBacks()).filter((rg) => rg.identifier![0].value!.includes('not-on-server'))).toEqual([]);
  });

  it('the launcher\'s Admit records a chart change; the chart page shows the written-back proposals and DetectedIssues, escaped', async () => {
    await fetch(`${ehr.url}/ehr/faults`, { method: 'DELETE' });
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const refused = async (url: string, body: string) => { const r = await fetch(url, { method: 'POST', headers: form, body }); return { status: r.status, text: ((await r.json()) as { issue: { details: { text: string } }[] }).issue[0].details.text }; };
    expect(await refused(`${ehr.url}/ehr/chart/admit?patient=${PATIENT}`, 'diagnosis=X99')).toEqual({ status: 400, text: 'diagnosis=X99: expected one of I50.9, I48.91, E11.9, J18.9, N39.0' });
    expect(await refused(`${ehr.url}/ehr/chart/admit?patient=nobody`, 'diagnosis=I50.9')).toEqual({ status: 404, text: 'Patient/nobody is not loaded in this EHR' });
    const notAKey = await runLeader(['subscribe', 'backend-client', '--key', path.join(tmp, 'clients.json'), '--clients', path.join(tmp, 'other.json')]);
    expect(notAKey.code).not.toBe(0);
    expect(notAKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(notAKey.stderr).toMatch(/^leader: --key .*clients\.json: not a private JWK/);
    const admitted = await fetch(`${ehr.url}/ehr/chart/admit?patient=${PATIENT}`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'diagnosis=I50.9' });
    expect(admitted.status).toBe(303);
    const chartUrl = new URL(admitted.headers.get('location')!, ehr.url).toString();
    const conditionId = new URL(chartUrl).searchParams.get('admitted')!;
    const diagnosis = await fhir<Resource & { encounter?: { reference?: string }; code?: { coding?: { code?: string }[] } }>('GET', `Condition/${conditionId}`);
    expect(diagnosis.code?.coding?.[0]?.code).toBe('I50.9');
    const encounterId = diagnosis.encounter!.reference!.slice('Encounter/'.length);
    expect(await fhir<Encounter>('GET', `Encounter/${encounterId}`)).toMatchObject({ status: 'in-progress', subject: { reference: `Patient/${PATIENT}` } });
    const waiting = await (await fetch(chartUrl)).text();
    // Waiting for the write-back: the page says so and reloads itself (unless the service was already done).
    if (waiting.includes('id="waiting"')) expect(waiting).toContain('location.reload()');
    const html = await waitFor('the active recommendation for the new visit on the chart page', async () => {
      const page = await (await fetch(chartUrl)).text();
      return page.includes(`Condition/${conditionId} `) && !page.includes('id="waiting"') ? page : undefined;
    });
    // What the page shows is what the service wrote: the active RequestGroup's proposals by product and ATC class, its DetectedIssues.
    const active = (await writeBacks()).filter((rg) => rg.status === 'active' && rg.encounter?.reference === `Encounter/${encounterId}`);
    expect(active.length).toBeGreaterThan(0);
    const proposals = await Promise.all(active.flatMap((rg) => rg.action ?? []).flatMap((a) => a.action ?? []).map((a) => fhir<MedicationRequest>('GET', a.resource!.reference!)));
    expect(proposals.length).toBeGreaterThan(0);
    // The page escapes every FHIR text as numeric character references.
    const escape = (t: string) => t.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
    for (const mr of proposals) {
      expect(html).toContain(`<code>${mr.medicationCodeableConcept!.coding!.find((c) => c.system === ATC)!.code}</code>`);
      if (mr.medicationCodeableConcept!.text) expect(html).toContain(escape(mr.medicationCodeableConcept!.text));
    }
    const issues = await search<DetectedIssue>(`DetectedIssue?patient=${PATIENT}&_count=1000`);
    const own = issues.filter((d) => active.some((rg) => d.identifier![0].value!.startsWith(`${rg.identifier![0].value}/`)));
    for (const d of own) expect(html).toContain(escape(d.detail!));
    expect(html).toContain('draft proposal, not ordered');
    expect(html).toContain('Revoked: replaced by a later chart change');
    expect(html).not.toMatch(/<script>(?!setTimeout)/);

    const shots = path.join(repoRoot, 'out', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(chartUrl);
      await expect(page.locator('section.rec[data-status=active]').first().isVisible()).resolves.toBe(true);
      await page.screenshot({ path: path.join(shots, 'ehr-chart-write-backs.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

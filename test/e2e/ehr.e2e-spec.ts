import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, Condition, OperationOutcome, Patient } from 'fhir/r4';
import { exportJWK, generateKeyPair, type KeyLike, SignJWT } from 'jose';
import { type Browser, chromium } from 'playwright-core';
import { CdsTestApp, fullPrefetch, hookRequest, startCdsApp } from '../support/cds-test-app';
import { type EhrProcess, startEhrProcess } from '../support/ehr-process';
import { repoRoot, runLeader } from '../support/leader-cli';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIXTURE_NDJSON = path.join(repoRoot, 'test', 'fixtures', 'cds', 'fhir');
const SYNTHEA_BUNDLE = path.join(repoRoot, '..', 'shared', 'data', 'synthea-r4-smart-sample', 'bundles', 'e27d88b0-c5e5-4042-ad49-184f6a900ee3.json.gz');
const APP_SCOPE = 'launch launch/patient openid fhirUser offline_access patient/*.rs patient/MedicationRequest.c';
const SELECT = 'leader-medications-order-select';

/** A SMART app as a browser runs it: fhirclient's browser build, PKCE required, EHR or standalone launch. */
function appPages(clientId: string): Record<string, string> {
  const authorize = (extra: string) => `<!doctype html><script src="/fhir-client.js"></script><script>
FHIR.oauth2.authorize({ clientId: '${clientId}', scope: '${APP_SCOPE}', redirectUri: '/index.html', pkceMode: 'required'${extra} });</script>`;
  return {
    '/launch.html': authorize(''),
    '/standalone.html': authorize(", iss: new URLSearchParams(location.search).get('iss')"),
    '/index.html': `<!doctype html><body>app<script src="/fhir-client.js"></script><script>
FHIR.oauth2.ready().then(async (client) => {
  const tr = client.state.tokenResponse;
  const patient = await client.patient.read();
  const meds = await client.request('MedicationRequest?patient=' + client.patient.id + '&_include=MedicationRequest:medication');
  const created = await client.create({ resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/' + client.patient.id }, medicationCodeableConcept: { text: 'ACE inhibitors, plain' } });
  let otherPatient;
  try { await client.request('Patient/' + (client.patient.id === 'alice' ? 'bob' : 'alice')); otherPatient = 'allowed'; } catch (e) { otherPatient = e.status || String(e); }
  const accessToken = tr.access_token;
  const refreshed = await client.refresh();
  document.body.dataset.result = JSON.stringify({ tokenResponse: tr, accessToken, patientId: patient.id, fhirUser: client.getFhirUser(), medEntries: (meds.entry || []).map((e) => e.resource.resourceType), createdId: created.id, createdStatus: created.status, otherPatient, refreshedToken: refreshed.tokenResponse.access_token !== accessToken, refreshedPatient: refreshed.tokenResponse.patient });
}).catch((e) => { document.body.dataset.error = String(e && e.message || e); });
</script></body>`,
  };
}

function startAppServer(clientId: string): Promise<{ url: string; server: Server }> {
  const pages = appPages(clientId);
  const fhirClientJs = readFileSync(path.join(repoRoot, 'node_modules', 'fhirclient', 'build', 'fhir-client.js'));
  const server = createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/fhir-client.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(fhirClientJs);
    if (pages[p]) return res.writeHead(200, { 'Content-Type': 'text/html' }).end(pages[p]);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

/** A transaction Bundle whose references are urn:uuid fullUrls, as Synthea and EHR exports write them. */
function uuidBundle(): Bundle {
  const patient = 'urn:uuid:7d0f6e0e-1f7a-4b8e-9d7c-2f9c1a0b5e11';
  return {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: patient, resource: { resourceType: 'Patient', name: [{ given: ['Zed'], family: 'Uuid' }], birthDate: '1950-02-03' } as Patient, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: 'urn:uuid:5b1f3c1e-0c55-4f0e-8a53-6f1f3f9d2a22', resource: { resourceType: 'Condition', subject: { reference: patient }, code: { text: 'Hypertension' } } as Condition, request: { method: 'POST', url: 'Condition' } },
    ],
  };
}

describe('leader ehr (e2e: real HTTP, SMART on oidc-provider, Debian chromium)', () => {
  let tmp: string;
  let ehr: EhrProcess;
  let app: { url: string; server: Server };
  let cds: CdsTestApp;
  let browser: Browser;
  let tokenUrl: string;
  const keys: Record<'rs' | 'es', { privateKey: KeyLike; kid: string }> = {} as never;

  const fhir = (p: string, init: RequestInit & { token?: string } = {}) => fetch(`${ehr.fhirBase}/${p}`, {
    ...init, headers: { Accept: 'application/fhir+json', ...(init.body ? { 'Content-Type': 'application/fhir+json' } : {}), ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
  });
  const json = async <T = Record<string, unknown>>(res: Response) => (await res.json()) as T;

  async function backendToken(clientId: string, scope: string, key: 'rs' | 'es'): Promise<Response> {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: key === 'rs' ? 'RS384' : 'ES384', kid: keys[key].kid, typ: 'JWT' })
      .setIssuer(clientId).setSubject(clientId).setAudience(tokenUrl).setJti(crypto.randomUUID()).setIssuedAt().setExpirationTime('5m')
      .sign(keys[key].privateKey);
    return fetch(tokenUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
    });
  }
  const systemToken = async (scope = 'system/*.rs system/*.c system/*.u') => (await json<{ access_token: string }>(await backendToken('backend-rs', scope, 'rs'))).access_token;

  async function runApp(startUrl: string, pickPatient?: string): Promise<Record<string, unknown>> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(startUrl);
      await page.locator('#sign-in').click();
      if (pickPatient) {
        await page.locator(`input[name=patient][value="${pickPatient}"]`).check();
        await page.locator('#choose-patient').click();
      }
      await page.waitForFunction('document.body && (document.body.dataset.result || document.body.dataset.error)', undefined, { timeout: 60_000 })
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\nat ${page.url()}:\n${(await page.content()).slice(0, 2000)}`);
        });
      const error = await page.evaluate<string | undefined>('document.body.dataset.error');
      if (error) throw new Error(`app failed: ${error}`);
      return JSON.parse(await page.evaluate<string>('document.body.dataset.result')) as Record<string, unknown>;
    } finally {
      await context.close();
    }
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'leader-ehr-e2e-'));
    const bundles = path.join(tmp, 'bundles');
    mkdirSync(bundles);
    writeFileSync(path.join(bundles, 'zed.json'), JSON.stringify(uuidBundle()));
    copyFileSync(SYNTHEA_BUNDLE, path.join(bundles, path.basename(SYNTHEA_BUNDLE)));
    const rs = await generateKeyPair('RS384');
    const es = await generateKeyPair('ES384');
    keys.rs = { privateKey: rs.privateKey, kid: 'rs-1' };
    keys.es = { privateKey: es.privateKey, kid: 'es-1' };
    app = await startAppServer('test-app');
    const clients = {
      clients: [
        { client_id: 'test-app', name: 'Test SMART app', type: 'public', launch_url: `${app.url}/launch.html`, redirect_uris: [`${app.url}/index.html`], scope: APP_SCOPE },
        { client_id: 'backend-rs', name: 'Backend RS384', type: 'backend', scope: 'system/*.rs system/*.c system/*.u', jwks: { keys: [{ ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS384' }] } },
        { client_id: 'backend-es', name: 'Backend ES384', type: 'backend', scope: 'system/Patient.rs', jwks: { keys: [{ ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES384' }] } },
      ],
    };
    writeFileSync(path.join(tmp, 'clients.json'), JSON.stringify(clients));
    cds = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: tmp });
    ehr = await startEhrProcess(['--fhir', FIXTURE_NDJSON, '--fhir', bundles, '--clients', path.join(tmp, 'clients.json'), '--cds-services', `${cds.url}/cds-services`]);
    tokenUrl = (await json<{ token_endpoint: string }>(await fetch(`${ehr.fhirBase}/.well-known/smart-configuration`))).token_endpoint;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await ehr?.stop();
    await cds?.close();
    await new Promise((r) => app?.server.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('advertises SMART 2.x (S256 only) and a 4.0.1 CapabilityStatement', async () => {
    const smart = await json<{ code_challenge_methods_supported: string[]; capabilities: string[]; grant_types_supported: string[] }>(await fetch(`${ehr.fhirBase}/.well-known/smart-configuration`));
    expect(smart.code_challenge_methods_supported).toEqual(['S256']);
    expect(smart.capabilities).toEqual(expect.arrayContaining(['launch-ehr', 'launch-standalone', 'permission-v2', 'context-ehr-patient', 'client-confidential-asymmetric']));
    expect(smart.grant_types_supported).toContain('client_credentials');
    const cap = await json<{ fhirVersion: string; rest: { resource: { type: string; searchParam: { name: string }[]; searchInclude: string[] }[] }[] }>(await fetch(`${ehr.fhirBase}/metadata`));
    expect(cap.fhirVersion).toBe('4.0.1');
    const mr = cap.rest[0].resource.find((r) => r.type === 'MedicationRequest');
    expect(mr?.searchParam.map((p) => p.name)).toEqual(expect.arrayContaining(['patient', 'subject', '_id', 'status', 'authoredon']));
    expect(mr?.searchInclude).toContain('MedicationRequest:medication');
  });

  it('needs a valid token: none or a made-up one is 401 with an OperationOutcome', async () => {
    const none = await fhir('Patient');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await json<OperationOutcome>(none)).resourceType).toBe('OperationOutcome');
    expect((await fhir('Patient', { token: 'not-a-token' })).status).toBe(401);
  });

  it('backend services: private_key_jwt RS384 and ES384 give system tokens; scopes are enforced per type and interaction', async () => {
    const rs = await backendToken('backend-rs', 'system/*.rs', 'rs');
    expect(rs.status).toBe(200);
    const rsBody = await json<{ access_token: string; token_type: string; scope: string; expires_in: number }>(rs);
    expect(rsBody).toMatchObject({ token_type: 'Bearer', scope: 'system/*.rs' });
    const count = await json<Bundle>(await fhir('Patient?_summary=count', { token: rsBody.access_token }));
    expect(count.total).toBe(4); // alice, bob, Zed (urn:uuid Bundle), the Synthea patient
    expect((await fhir('Patient', { method: 'POST', token: rsBody.access_token, body: JSON.stringify({ resourceType: 'Patient' }) })).status).toBe(403);

    const es = await json<{ access_token: string; scope: string }>(await backendToken('backend-es', 'system/Patient.rs system/Condition.rs', 'es'));
    expect(es.scope).toBe('system/Patient.rs'); // Condition is not registered for this client
    expect((await fhir('Patient/alice', { token: es.access_token })).status).toBe(200);
    const denied = await fhir('Condition?patient=alice', { token: es.access_token });
    expect(denied.status).toBe(403);
    expect((await json<OperationOutcome>(denied)).issue[0].code).toBe('forbidden');

    const wrongKey = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'es-1' }).setIssuer('backend-rs').setSubject('backend-rs').setAudience(tokenUrl).setJti(crypto.randomUUID()).setExpirationTime('5m').sign(keys.es.privateKey);
    const bad = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: wrongKey }) });
    expect(bad.status).toBe(401);
  });

  it('loads NDJSON and Bundle folders, with urn:uuid references rewritten to Type/id', async () => {
    const token = await systemToken();
    const zed = await json<Bundle>(await fhir('Patient?family=Uuid', { token }));
    expect(zed.total).toBe(1);
    const zedId = (zed.entry?.[0].resource as Patient).id;
    const conditions = await json<Bundle>(await fhir(`Condition?patient=${zedId}`, { token }));
    expect((conditions.entry?.[0].resource as Condition).subject.reference).toBe(`Patient/${zedId}`);
    const synthea = await json<Bundle>(await fhir('Encounter?patient=1ae0605d-e5b8-4d6d-a96d-c93dcbd57e06&_summary=count', { token }));
    expect(synthea.total).toBeGreaterThan(0);
  });

  it('searches: bare-id and Type/id patient, subject, _id, date, status, _count with next links, _include, _summary=count', async () => {
    const token = await systemToken();
    const ids = async (q: string) => ((await json<Bundle>(await fhir(q, { token }))).entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id).sort();
    const all = await ids('Condition?patient=Patient/alice');
    expect(all.length).toBe(8);
    expect(await ids('Condition?patient=alice')).toEqual(all);
    expect(await ids('Condition?subject=Patient/alice')).toEqual(all);
    expect(await ids('Patient?_id=bob')).toEqual(['bob']);
    const encounters = await ids('Encounter?patient=alice');
    expect(encounters.length).toBe(4);
    expect((await ids('Encounter?patient=alice&date=ge2151-01-01')).length).toBe(3);
    expect(await ids('MedicationRequest?patient=alice&status=nonsense-status')).toEqual([]);
    // Paging: follow `next` to the end and get every match once.
    const seen: string[] = [];
    let next: string | undefined = `${ehr.fhirBase}/Condition?patient=alice&_count=3`;
    while (next) {
      const page: Bundle = await json<Bundle>(await fetch(next, { headers: { Authorization: `Bearer ${token}` } }));
      seen.push(...(page.entry ?? []).map((e) => e.resource?.id as string));
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    expect(seen.sort()).toEqual(all);
    const included = await json<Bundle>(await fhir('MedicationRequest?patient=alice&_include=MedicationRequest:medication', { token }));
    expect(included.entry?.some((e) => e.search?.mode === 'include' && e.resource?.resourceType === 'Medication')).toBe(true);
    expect((await json<Bundle>(await fhir('MedicationRequest?patient=alice&_summary=count', { token }))).entry).toBeUndefined();
    const unknown = await fhir('Condition?colour=red', { token });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('colour');
  });

  it('conditional create (If-None-Exist), transaction with urn:uuid, rollback of a failing transaction, 400 on malformed FHIR', async () => {
    const token = await systemToken();
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'cc-1' }], name: [{ family: 'Conditional' }] };
    const first = await fhir('Patient', { method: 'POST', token, body: JSON.stringify(patient), headers: { 'If-None-Exist': 'identifier=urn:test:mrn|cc-1' } });
    expect(first.status).toBe(201);
    const id = (await json<Patient>(first)).id;
    const second = await fhir('Patient', { method: 'POST', token, body: JSON.stringify(patient), headers: { 'If-None-Exist': 'identifier=urn:test:mrn|cc-1' } });
    expect(second.status).toBe(200);
    expect((await json<Patient>(second)).id).toBe(id);

    const tx = await fhir('', { method: 'POST', token, body: JSON.stringify(uuidBundle()) });
    expect(tx.status).toBe(200);
    const txBody = await json<Bundle>(tx);
    expect(txBody.type).toBe('transaction-response');
    const [pLoc, cLoc] = (txBody.entry ?? []).map((e) => e.response?.location ?? '');
    const condition = await json<Condition>(await fhir(cLoc.split('/_history')[0], { token }));
    expect(condition.subject.reference).toBe(pLoc.split('/_history')[0]);

    const before = (await json<Bundle>(await fhir('Condition?_summary=count', { token }))).total;
    const failing: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Condition', subject: { reference: 'Patient/alice' }, code: { text: 'should be rolled back' } } as Condition, request: { method: 'POST', url: 'Condition' } },
      { resource: { resourceType: 'Patient', id: 'alice' } as Patient, request: { method: 'PUT', url: 'Patient/alice', ifMatch: 'W/"not-the-version"' } },
    ] };
    const failed = await fhir('', { method: 'POST', token, body: JSON.stringify(failing) });
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expect(failed.status).toBeLessThan(500);
    expect((await json<Bundle>(await fhir('Condition?_summary=count', { token }))).total).toBe(before);
    expect((await json<Patient>(await fhir('Patient/alice', { token }))).name).toBeDefined();

    const malformed = await fhir('Patient', { method: 'POST', token, body: JSON.stringify({ resourceType: 'Patient', birthDate: 12 }) });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(await malformed.json())).toContain('birthDate');
    expect((await fhir('Patient', { method: 'POST', token, body: '{"resourceType":' })).status).toBe(400);
  });

  it('refuses plain PKCE and a missing code_challenge', async () => {
    const authorize = (await json<{ authorization_endpoint: string }>(await fetch(`${ehr.fhirBase}/.well-known/smart-configuration`))).authorization_endpoint;
    const params = (extra: Record<string, string>) => new URLSearchParams({ response_type: 'code', client_id: 'test-app', redirect_uri: `${app.url}/index.html`, scope: APP_SCOPE, state: 's1', aud: ehr.fhirBase, ...extra });
    for (const extra of [{ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, {}] as Record<string, string>[]) {
      const res = await fetch(`${authorize}?${params(extra)}`, { redirect: 'manual' });
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.origin).toBe(app.url);
      expect(location.searchParams.get('error')).toBe('invalid_request');
    }
  });

  it('EHR launch in chromium via /_services/smart/Launch: PKCE, launch context and appContext in the token, refresh, patient compartment', async () => {
    const appContext = JSON.stringify({ hookInstance: 'h-1', classes: ['C09A'] });
    const launch = await fetch(`${ehr.url}/_services/smart/Launch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ launchUrl: `${app.url}/launch.html`, parameters: { patient: 'alice', appContext } }) });
    const { launch_id } = await json<{ launch_id: string }>(launch);
    expect(launch_id).toMatch(/^[\w-]{16,}$/);
    const result = await runApp(`${app.url}/launch.html?iss=${encodeURIComponent(ehr.fhirBase)}&launch=${launch_id}`);
    const tr = result.tokenResponse as Record<string, unknown>;
    expect(tr).toMatchObject({ patient: 'alice', appContext, need_patient_banner: false, token_type: 'Bearer', smart_style_url: `${ehr.url}/ehr/smart-style.json` });
    expect(String(tr.scope).split(' ')).toEqual(expect.arrayContaining(['launch', 'openid', 'fhirUser', 'patient/*.rs', 'patient/MedicationRequest.c']));
    expect(tr.refresh_token).toBeTruthy();
    expect(tr.id_token).toBeTruthy();
    expect(result).toMatchObject({ patientId: 'alice', createdStatus: 'draft', otherPatient: 403, refreshedToken: true, refreshedPatient: 'alice' });
    expect(result.fhirUser).toMatch(/^Practitioner\/./); // fhirclient makes the id_token's absolute fhirUser relative
    expect(result.medEntries).toEqual(expect.arrayContaining(['MedicationRequest', 'Medication']));

    // The same patient-scoped token, used from outside the browser.
    const token = result.accessToken as string;
    expect((await fhir('Condition?patient=bob', { token })).status).toBe(403);
    expect((await fhir('Patient/bob', { token })).status).toBe(403);
    const own = await json<Bundle>(await fhir('Condition', { token }));
    expect(own.total).toBe(8);
    expect(own.entry?.every((e) => (e.resource as Condition).subject.reference === 'Patient/alice')).toBe(true);
    expect((await fhir('MedicationRequest', { method: 'POST', token, body: JSON.stringify({ resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/bob' }, medicationCodeableConcept: { text: 'x' } }) })).status).toBe(403);
    expect((await fhir('Condition', { method: 'POST', token, body: JSON.stringify({ resourceType: 'Condition', subject: { reference: 'Patient/alice' } }) })).status).toBe(403); // no .c on Condition
    const created = await json<Record<string, unknown>>(await fhir(`MedicationRequest/${String(result.createdId)}`, { token }));
    expect(created).toMatchObject({ status: 'draft', intent: 'proposal', subject: { reference: 'Patient/alice' } });
  });

  it('standalone launch in chromium: the patient picker chooses the patient; an unknown launch is refused', async () => {
    const result = await runApp(`${app.url}/standalone.html?iss=${encodeURIComponent(ehr.fhirBase)}`, 'bob');
    expect(result.tokenResponse).toMatchObject({ patient: 'bob', need_patient_banner: true });
    expect(result).toMatchObject({ patientId: 'bob', otherPatient: 403 });

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/launch.html?iss=${encodeURIComponent(ehr.fhirBase)}&launch=made-up`);
    await page.locator('#sign-in').click();
    await page.waitForURL(/index\.html\?.*error=invalid_request/);
    await context.close();
  });

  it('GET /ehr/launch-url answers a launch URL for scripts; bad input is 4xx with an OperationOutcome', async () => {
    const res = await fetch(`${ehr.url}/ehr/launch-url?patient=alice&app=${encodeURIComponent(`${app.url}/launch.html`)}`);
    const { url } = await json<{ url: string }>(res);
    const u = new URL(url);
    expect(u.searchParams.get('iss')).toBe(ehr.fhirBase);
    expect(u.searchParams.get('launch')).toBeTruthy();
    expect((await fetch(`${ehr.url}/ehr/launch-url?patient=nobody&app=${encodeURIComponent(`${app.url}/launch.html`)}`)).status).toBe(404);
    const badApp = await fetch(`${ehr.url}/_services/smart/Launch`, { method: 'POST', body: JSON.stringify({ launchUrl: 'javascript:alert(1)', parameters: { patient: 'alice' } }) });
    expect(badApp.status).toBe(400);
    expect((await json<OperationOutcome>(badApp)).resourceType).toBe('OperationOutcome');
    // The Subscription fault switches exist only with --faults (test/e2e/ehr-subscriptions.e2e-spec.ts).
    for (const p of ['/ehr/faults', '/ehr/deliveries']) expect((await fetch(`${ehr.url}${p}`)).status).toBe(404);
    expect((await fetch(`${ehr.url}/ehr/faults`, { method: 'POST', body: JSON.stringify({ drop: 1 }) })).status).toBe(404);
  });

  it('the CDS service fetches its prefetch from leader ehr (bare-id patient searches, bearer token) and gives the cards of a full prefetch', async () => {
    const token = await systemToken('system/*.rs');
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(`${cds.url}/cds-services/${SELECT}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { cards: { summary: string }[] }).cards.map((c) => c.summary);
    };
    const withPrefetch = await post(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') }));
    const fetched = await post(hookRequest('order-select', 'alice', { fhirServer: ehr.fhirBase, accessToken: token }));
    expect(withPrefetch.length).toBeGreaterThan(0);
    expect(fetched).toEqual(withPrefetch);
  });

  it('launcher page: patients with visits, app launch buttons, order-select cards from the CDS service (screenshot)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${ehr.url}/`);
    const rows = await page.locator('tbody tr').count();
    expect(rows).toBeGreaterThanOrEqual(4); // the loaded four, and any an earlier test created
    expect(await page.locator('tbody tr', { hasText: 'alice' }).locator('td').nth(4).textContent()).toBe('4'); // visits
    expect(await page.locator('a.btn.primary', { hasText: 'Launch Test SMART app' }).count()).toBe(rows);
    await page.locator('button[data-cds="alice"]').click();
    await page.waitForSelector('#cards .card, #cards .note', { timeout: 60_000 });
    expect(await page.locator('#cards .note').count()).toBe(0);
    expect(await page.locator('#cards .card').count()).toBeGreaterThan(0);
    const shots = path.join(repoRoot, 'out', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'ehr-launcher.png'), fullPage: true });
    await context.close();
  });

  it('bad start-up input: a clients file without keys, a Bundle with a dangling urn:uuid: one line, non-zero exit', async () => {
    const clients = path.join(tmp, 'no-keys.json');
    writeFileSync(clients, JSON.stringify({ clients: [{ client_id: 'b', type: 'backend', scope: 'system/*.rs' }] }));
    const noKeys = await runLeader(['ehr', '--fhir', FIXTURE_NDJSON, '--clients', clients, '--port', '0']);
    expect(noKeys.code).not.toBe(0);
    expect(noKeys.stderr.trim().split('\n').pop()).toMatch(/no-keys\.json: clients\[0\] \(b\): jwks\.keys is required/);
    const broken = path.join(tmp, 'broken');
    mkdirSync(broken);
    const bundle = uuidBundle();
    bundle.entry?.shift();
    writeFileSync(path.join(broken, 'b.json'), JSON.stringify(bundle));
    const dangling = await runLeader(['ehr', '--fhir', broken, '--port', '0']);
    expect(dangling.code).not.toBe(0);
    expect(dangling.stderr.trim().split('\n').pop()).toMatch(/broken: Condition\/.* refers to urn:uuid:7d0f6e0e/);
  });
});

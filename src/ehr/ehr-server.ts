import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Operator } from '@medplum/core';
import type { Practitioner } from '@medplum/fhirtypes';
import { buildDemoRequest } from '../cds-hooks/demo/demo-request.builder';
import { AuthorizationServer } from './authorization-server';
import type { EhrClient } from './ehr-clients';
import { EhrRepository } from './ehr-repository';
import { loadFhirDefinitions } from './fhir-definitions';
import { fail, FhirEndpoint, type FhirAccess, type FhirHttpResult } from './fhir-endpoint';
import { lastEncounterOf, patientResources, patientSummaries, summaryOf } from './ehr-patients';
import { chartPage, interactionPages, launcherPage, SMART_STYLE } from './ehr-pages';
import { ADMISSION_DIAGNOSES, chartWriteBacks, recordAdmission } from './chart-changes';
import { SubscriptionDelivery } from './subscription-delivery';
import { FaultSwitches } from './subscription-faults';

export interface EhrServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  clients: EhrClient[];
  /** Serve FHIR without a token (a local demo; the SMART server still runs). */
  open: boolean;
  /** A CDS service base URL (`…/cds-services`) the launcher sends order-select calls to. */
  cdsServices?: string;
  /** Called once with the store before the server listens (load data here). */
  load: (repo: EhrRepository) => Promise<void>;
  log?: (line: string) => void;
  /** Subscription delivery: attempts per notification (default 5) and the first retry's wait (default 1000 ms, doubling). */
  delivery?: { maxAttempts?: number; backoffMs?: number };
  /** Serve `/ehr/faults` and `/ehr/deliveries` (tests only). */
  faults?: boolean;
}

export interface EhrServer {
  url: string;
  fhirBase: string;
  repo: EhrRepository;
  auth: AuthorizationServer;
  subscriptions: SubscriptionDelivery;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 << 20;
const PRACTITIONER_ID = 'leader-ehr-demo-practitioner';
const CORS_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, If-None-Exist, If-Match, Prefer',
  'Access-Control-Expose-Headers': 'Location, ETag, Last-Modified, Content-Location',
  'Access-Control-Max-Age': '600',
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * `leader ehr`: one process, one port. `/fhir` (FHIR R4 on Medplum's router), `/oauth` (SMART
 * authorization server), `/` (launcher page), `/_services/smart/Launch` and `/ehr/*` (launch and
 * CDS helpers for the page, scripts and tests).
 */
export async function startEhrServer(options: EhrServerOptions): Promise<EhrServer> {
  const log = options.log ?? (() => undefined);
  loadFhirDefinitions();
  const repo = new EhrRepository();
  await options.load(repo);
  const practitioner = await repo.updateResource<Practitioner>({
    resourceType: 'Practitioner', id: PRACTITIONER_ID, active: true,
    name: [{ prefix: ['Dr.'], given: ['Demo'], family: 'Practitioner', text: 'Dr. Demo Practitioner (local test EHR)' }],
  });

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const fhirBase = `${origin}/fhir`;
  const auth = await AuthorizationServer.create({
    fhirBase, issuer: `${origin}/oauth`, clients: options.clients,
    practitioner: { reference: `Practitioner/${practitioner.id}`, name: practitioner.name?.[0]?.text ?? 'Demo practitioner' },
    smartStyleUrl: `${origin}/ehr/smart-style.json`,
  });
  const faults = options.faults ? new FaultSwitches() : undefined;
  const subscriptions = new SubscriptionDelivery({
    fhirBase, repo, faults, log,
    maxAttempts: options.delivery?.maxAttempts ?? 5, backoffMs: options.delivery?.backoffMs ?? 1000,
  });
  // Subscriptions see what is written from now on (the loaded data is not an event).
  repo.onWrite((resource, interaction) => subscriptions.written(resource, interaction));
  const fhir = new FhirEndpoint(repo, fhirBase, { authorize: auth.provider.urlFor('authorization'), token: auth.provider.urlFor('token') }, subscriptions);
  const oauth = auth.provider.callback();
  const pages = interactionPages(() => repo.exclusive(() => patientSummaries(repo)));

  const launchUrl = async (app: string, context: { patient?: string; encounter?: string; appContext?: string }) => {
    const encounter = context.encounter ?? (context.patient ? await repo.exclusive(() => lastEncounterOf(repo, context.patient as string)) : undefined);
    const launch = auth.launches.mint({ ...context, encounter, needPatientBanner: false });
    const url = new URL(app);
    url.searchParams.set('iss', fhirBase);
    url.searchParams.set('launch', launch);
    return { url: url.toString(), launch };
  };
  const requirePatient = async (id: string | null | undefined) => {
    if (!id) throw new HttpError(400, 'patient is required (a Patient id)');
    const found = await repo.readResource('Patient', id).catch(() => undefined);
    if (!found) throw new HttpError(404, `Patient/${id} is not loaded in this EHR`);
    return id;
  };
  const requireAppUrl = (app: unknown) => {
    if (typeof app !== 'string' || !/^https?:\/\/\S+$/.test(app)) throw new HttpError(400, 'the app launch URL must be an http(s) URL');
    return app;
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/oauth/interaction/')) {
      const [uid, step] = path.slice('/oauth/interaction/'.length).split('/');
      if (!uid) throw new HttpError(404, 'no such interaction');
      const form = method === 'POST' ? new URLSearchParams((await readBody(req)).toString('utf8')) : new URLSearchParams();
      await auth.interaction(req, res, step, form, pages);
      return;
    }
    if (path === '/oauth' || path.startsWith('/oauth/')) {
      if (path === '/oauth/token' && method === 'POST' && /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
        const form = new URLSearchParams((await readBody(req)).toString('utf8'));
        await auth.nameRefreshingClient(form, req.headers.authorization);
        (req as IncomingMessage & { body?: string }).body = form.toString(); // oidc-provider reads a consumed body from req.body
      }
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = (req.url ?? '').slice('/oauth'.length) || '/';
      await oauth(req, res);
      return;
    }
    setCors(req, res);
    if (method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/fhir/.well-known/smart-configuration' && method === 'GET') return sendJson(res, 200, auth.smartConfiguration());
    if (path === '/fhir' || path.startsWith('/fhir/')) return sendFhir(res, await handleFhir(req, path.slice('/fhir'.length) + url.search));
    if (path === '/' && method === 'GET') {
      const patients = await repo.exclusive(() => patientSummaries(repo));
      return sendHtml(res, launcherPage({ patients, apps: auth.registeredClients().filter((c) => c.launch_url), fhirBase, cdsServices: options.cdsServices, open: options.open }));
    }
    if (path === '/ehr/smart-style.json') return sendJson(res, 200, SMART_STYLE);
    if (path === '/ehr/launch-url' && method === 'GET') {
      const patient = await requirePatient(url.searchParams.get('patient'));
      return sendJson(res, 200, { url: (await launchUrl(requireAppUrl(url.searchParams.get('app')), { patient, encounter: url.searchParams.get('encounter') ?? undefined, appContext: url.searchParams.get('appContext') ?? undefined })).url });
    }
    if (path === '/ehr/launch' && method === 'GET') {
      const patient = await requirePatient(url.searchParams.get('patient'));
      res.writeHead(302, { Location: (await launchUrl(requireAppUrl(url.searchParams.get('app')), { patient, appContext: url.searchParams.get('appContext') ?? undefined })).url }).end();
      return;
    }
    if (path === '/_services/smart/Launch' && method === 'POST') {
      const body = parseJson(await readBody(req)) as { launchUrl?: unknown; parameters?: { patient?: string; encounter?: string; appContext?: unknown } } | null;
      requireAppUrl(body?.launchUrl);
      const p = body?.parameters ?? {};
      const patient = p.patient === undefined ? undefined : await requirePatient(p.patient);
      const appContext = p.appContext === undefined ? undefined : typeof p.appContext === 'string' ? p.appContext : JSON.stringify(p.appContext);
      const launch_id = auth.launches.mint({ patient, encounter: p.encounter, appContext, needPatientBanner: false });
      return sendJson(res, 200, { launch_id });
    }
    if (path === '/ehr/faults' || path === '/ehr/deliveries') {
      if (!faults) throw new HttpError(404, `${path}: start leader ehr with --faults to use it (tests only)`);
      if (path === '/ehr/deliveries' && method === 'GET') {
        const after = url.searchParams.get('after');
        if (after !== null && !/^\d+$/.test(after)) throw new HttpError(400, `after=${after}: expected a delivery seq number`);
        return sendJson(res, 200, { deliveries: subscriptions.deliveries({ subscription: url.searchParams.get('subscription') ?? undefined, after: after === null ? undefined : Number(after) }) });
      }
      if (path === '/ehr/faults' && method === 'GET') return sendJson(res, 200, faults.snapshot());
      if (path === '/ehr/faults' && method === 'DELETE') {
        faults.reset();
        return sendJson(res, 200, faults.snapshot());
      }
      if (path === '/ehr/faults' && method === 'POST') {
        try {
          return sendJson(res, 200, faults.set(parseJson(await readBody(req))));
        } catch (e) {
          if (e instanceof HttpError) throw e;
          throw new HttpError(400, `/ehr/faults: ${(e as Error).message}`);
        }
      }
      throw new HttpError(405, `${method} ${path}: not allowed`);
    }
    if (path === '/ehr/chart' && method === 'GET') {
      const patient = await requirePatient(url.searchParams.get('patient'));
      const admitted = url.searchParams.get('admitted') ?? undefined;
      if (admitted !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(admitted)) throw new HttpError(400, `admitted=${admitted}: expected a Condition id`);
      const [resource, visits, subs] = await repo.exclusive(async () => [
        await repo.readResource('Patient', patient),
        (await repo.searchResources({ resourceType: 'Encounter', filters: [{ code: 'patient', operator: Operator.EQUALS, value: `Patient/${patient}` }], count: 10_000 })).length,
        (await repo.searchResources({ resourceType: 'Subscription', filters: [{ code: 'status', operator: Operator.EQUALS, value: 'active' }], count: 10_000 })).length,
      ] as const);
      const recommendations = await chartWriteBacks(repo, patient);
      return sendHtml(res, chartPage({ patient: summaryOf(resource as never, visits), recommendations, activeSubscriptions: subs, admitted }));
    }
    if (path === '/ehr/chart/admit' && method === 'POST') {
      const patient = await requirePatient(url.searchParams.get('patient'));
      const diagnosis = new URLSearchParams((await readBody(req)).toString('utf8')).get('diagnosis') ?? '';
      if (!ADMISSION_DIAGNOSES.some((d) => d.code === diagnosis)) throw new HttpError(400, `diagnosis=${diagnosis}: expected one of ${ADMISSION_DIAGNOSES.map((d) => d.code).join(', ')}`);
      const { condition } = await recordAdmission(repo, patient, diagnosis);
      // Post/redirect/get: a reload of the chart page does not admit the patient twice. The diagnosis is the
      // admission's last change: the page waits for the recommendation written for it.
      res.writeHead(303, { Location: `/ehr/chart?patient=${encodeURIComponent(patient)}&admitted=${encodeURIComponent(condition)}` }).end();
      return;
    }
    if (path === '/ehr/cds/order-select' && method === 'POST') {
      if (!options.cdsServices) throw new HttpError(404, 'no CDS service configured (leader ehr --cds-services URL)');
      const patient = await requirePatient(url.searchParams.get('patient'));
      return sendJson(res, 200, await callOrderSelect(patient));
    }
    throw new HttpError(404, `${method} ${path}: not found`);
  }

  async function handleFhir(req: IncomingMessage, path: string): Promise<FhirHttpResult> {
    let access: FhirAccess = { open: true };
    const method = req.method ?? 'GET';
    // --faults: "a 5xx from the FHIR server" for the next matching requests (discovery excepted), before anything runs.
    const injected = /^\/(metadata|\.well-known\/)/.test(path) ? undefined : faults?.fhirError(method);
    if (injected !== undefined) {
      await readBody(req);
      return { status: injected, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', details: { text: `injected fault: answered ${injected} without processing the request (leader ehr --faults)` } }] } };
    }
    // The CapabilityStatement is public: clients read it before they have a token.
    if (!options.open && !(method === 'GET' && /^\/metadata(\?|$)/.test(path))) {
      const header = req.headers.authorization ?? '';
      const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      if (!bearer) return { ...fail(401, 'an access token is required (Authorization: Bearer …); see /fhir/.well-known/smart-configuration'), headers: { 'WWW-Authenticate': 'Bearer realm="leader-ehr"' } };
      const grant = await auth.resolveToken(bearer);
      if (!grant) return { ...fail(401, 'the access token is unknown, expired or not for this FHIR server'), headers: { 'WWW-Authenticate': 'Bearer realm="leader-ehr", error="invalid_token"' } };
      access = { open: false, scopes: grant.scopes, patient: grant.patient };
    }
    let body: unknown;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const raw = await readBody(req);
      // An operation (Subscription $status, $events) may be POSTed without parameters.
      if (raw.length === 0 && !/\/\$[a-z-]+(\?|$)/.test(path)) return fail(400, `${method} needs a JSON body`);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (e) {
          return fail(400, `the request body is not JSON (${(e as Error).message.split('\n')[0]})`);
        }
      }
    }
    return fhir.handle(method, path, req.headers, body, access);
  }

  /** The launcher's order-select call: the patient's data as prefetch, a draft from the last visit, and a patient-scoped token. */
  async function callOrderSelect(patientId: string): Promise<unknown> {
    const resources = await repo.exclusive(() => patientResources(repo, patientId));
    if (!resources) throw new HttpError(404, `Patient/${patientId} is not loaded in this EHR`);
    const base = options.cdsServices!.replace(/\/+$/, '');
    const discovery = (await fetchJson(`${base}`, { method: 'GET' })) as { services?: { id: string; hook: string }[] };
    const service = discovery.services?.find((s) => s.hook === 'order-select');
    if (!service) throw new HttpError(502, `${base} offers no order-select service`);
    const request = { ...buildDemoRequest(resources as never, { hook: 'order-select', userId: `Practitioner/${PRACTITIONER_ID}` }), fhirServer: fhirBase, fhirAuthorization: await auth.tokenForCdsService(patientId) };
    const response = await fetchJson(`${base}/${encodeURIComponent(service.id)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
    return { service: service.id, request: { hook: request.hook, context: request.context }, response };
  }

  server.on('request', (req, res) => {
    route(req, res).catch((e: unknown) => {
      // oidc-provider's errors (an expired interaction, a bad request) carry their own 4xx status.
      const oauth = e as { statusCode?: number; error?: string; error_description?: string };
      if (typeof oauth.statusCode === 'number' && oauth.statusCode < 500 && oauth.error) e = new HttpError(oauth.statusCode, `${oauth.error}: ${oauth.error_description ?? ''}`);
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) log(`leader ehr: ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (res.headersSent) {
        res.end();
        return;
      }
      const result = fail(status, e instanceof Error ? e.message : String(e));
      sendFhir(res, result);
    });
  });

  return {
    url: origin, fhirBase, repo, auth, subscriptions,
    close: () => new Promise<void>((resolve) => {
      subscriptions.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function fetchJson(url: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new HttpError(502, `${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new HttpError(502, `${url} answered ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(502, `${url} answered non-JSON`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `request body over ${MAX_BODY_BYTES >> 20} MB`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request body is not JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

function setCors(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
  res.setHeader('Vary', 'Origin');
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
}

function sendFhir(res: ServerResponse, result: FhirHttpResult): void {
  res.writeHead(result.status, { 'Content-Type': 'application/fhir+json; charset=utf-8', ...result.headers });
  res.end(JSON.stringify(result.body));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

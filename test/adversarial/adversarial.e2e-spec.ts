/**
 * The standing adversarial suite (issue 9): the built app, auth on, on loopback, fed with more than
 * 300 generated malformed requests, JWT faults, hostile FHIR servers, bombs and long records. Every
 * answer must be a 4xx with an OperationOutcome naming the problem (or a 2xx), never a 5xx, never a
 * hang, each within a bounded time, while /health/live keeps answering. Prints the report quoted in
 * the README ("Hostile input / limits").
 */
import { promises as fs } from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { createDeflate, createGzip } from 'node:zlib';
import { exportJWK, generateKeyPair, type KeyLike, SignJWT } from 'jose';
import { SYSTEM } from '../../src/terminology/code-systems';
import { type CdsTestApp, draftOrder, fullPrefetch, hookRequest, startCdsApp } from '../support/cds-test-app';
import { HOSTILE_FHIR_BEHAVIOURS, type HostileBehaviour, type HostileFhirServer, startHostileFhirServer } from './hostile-fhir-server';
import { crowdedVisit, encounterChain, encounterCycle, ingredientExplosion, longRecord } from './long-records';
import { authCases, fhirServerCases, fieldCases, type HostileCase, SELECT_PATH, wireCases } from './malformed-requests';

const PUBLIC_URL = 'http://cds.test';
const ISS = 'https://ehr.example.org';
/**
 * Bounds per case: five times the 1 s target, so the suite passes on a busy 2-core machine and still
 * catches the stalls of issue 9 (3.4 s to 53 s). The targets themselves (answer within 1 s,
 * /health/live under 100 ms) are measured by `npm run bench -- hostile`, not asserted here.
 */
const CASE_BOUND_MS = 5000;
/**
 * Records of about 10 MB: four times that. Their sliced parse takes 0.4 s under node on an idle
 * core but about 2 s under jest (its vm context makes @streamparser/json about three times slower)
 * and several times that on a busy machine (9.5 s measured at load average 9).
 */
const LONG_RECORD_BOUND_MS = 20_000;
const FHIR_DEADLINE_MS = 3000;
const HEALTH_BOUND_MS = 5000;
/**
 * While the 10 MB record is processed, neither the worst event-loop lag nor the worst /health/live
 * wait may reach this share of the request's own time (median of three runs). Measured: a
 * synchronous whole-body parse blocks for 35–73 % of it (load average 8 to idle), the sliced parse for 2–6 %.
 */
const MAX_BLOCK_SHARE = 0.15;
/** A case with no answer after this long is a hang. */
const HANG_MS = 30_000;

interface Outcome { status: number; text: string; ms: number; error?: string }
interface Result extends Outcome { c: HostileCase; lagMs: number; healthMs: number }

async function compress(kind: 'gzip' | 'deflate', mib: number): Promise<Buffer> {
  const z = kind === 'gzip' ? createGzip({ level: 9 }) : createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((r) => z.on('end', r));
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < mib; i++) if (!z.write(chunk)) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(out);
}

/** One raw HTTP exchange (exact bytes and headers; a fresh connection each time). */
function send(base: string, method: string, urlPath: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Outcome> {
  const u = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: Omit<Outcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...o, ms: performance.now() - started });
    };
    const req = httpRequest({ host: u.hostname, port: u.port, path: urlPath, method, agent: false, headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => finish({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => finish({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(HANG_MS, () => {
      finish({ status: 0, text: '', error: 'hang' });
      req.destroy();
    });
    // The server may answer (401, 413) and close before the whole body is sent: the answer counts.
    req.on('error', (e) => setTimeout(() => finish({ status: 0, text: '', error: e.message }), 50));
    if (body) req.end(body);
    else req.end();
  });
}

describe('adversarial suite (issue 9): hostile and broken input', () => {
  let t: CdsTestApp;
  let tmp: string;
  let fhir: HostileFhirServer;
  let key: KeyLike;
  const results: Result[] = [];
  const lag = monitorEventLoopDelay({ resolution: 10 });

  const token = (aud: string, claims: Record<string, unknown> = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISS, aud, jti: randomUUID(), iat: now, exp: now + 300, ...claims }).setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: 'k1' }).sign(key);
  };

  /** Runs cases one after another while a prober calls /health/live every 50 ms; records status, latency, loop lag, health latency. */
  async function run(cases: HostileCase[]): Promise<Result[]> {
    const out: Result[] = [];
    for (const c of cases) {
      const headers: Record<string, string> = { ...(c.body !== undefined && c.raw === undefined ? { 'Content-Type': 'application/json' } : {}), ...(c.headers ?? {}) };
      if (c.auth === 'valid') headers.Authorization = `Bearer ${await token(`${PUBLIC_URL}${c.path.split('?')[0]}`)}`;
      else if (c.auth !== 'none') headers.Authorization = c.auth.header;
      const body = c.raw ?? (c.body !== undefined ? Buffer.from(JSON.stringify(c.body)) : undefined);
      let worstHealth = 0;
      let probing = true;
      // A probe is due every 50 ms; its latency counts from when it was due, so a block that
      // falls between two probes is seen too (as a health check arriving then would have waited).
      const prober = (async () => {
        let due = performance.now();
        while (probing) {
          const h = await send(t.url, 'GET', '/health/live', {}, undefined);
          worstHealth = Math.max(worstHealth, h.status === 200 ? performance.now() - due : HANG_MS);
          due = Math.max(performance.now(), due + 50);
          await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        }
      })();
      lag.reset();
      const o = await send(t.url, c.method, c.path, headers, body);
      const lagMs = lag.max / 1e6;
      probing = false;
      await prober;
      const r = { ...o, c, lagMs, healthMs: worstHealth };
      out.push(r);
      results.push(r);
    }
    return out;
  }

  /** Every expectation of a case, as a list of failures (empty when it held). */
  function failuresOf(r: Result, boundMs = CASE_BOUND_MS): string[] {
    const f: string[] = [];
    const label = `${r.c.family}: ${r.c.name}`;
    if (r.error !== undefined) f.push(`${label}: no answer (${r.error})`);
    if (r.status >= 500) f.push(`${label}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    if (r.c.expect && r.status !== 0 && !r.c.expect.includes(r.status)) f.push(`${label}: HTTP ${r.status}, expected ${r.c.expect.join('/')}: ${r.text.slice(0, 300)}`);
    if (!r.c.expect && r.status !== 0 && (r.status < 200 || r.status >= 500)) f.push(`${label}: HTTP ${r.status}`);
    if (r.ms > boundMs) f.push(`${label}: ${Math.round(r.ms)} ms > ${boundMs} ms`);
    if (r.healthMs > HEALTH_BOUND_MS) f.push(`${label}: /health/live took ${Math.round(r.healthMs)} ms`);
    if (r.status >= 400 && r.status < 500 && r.status !== 404) {
      let body: { resourceType?: string; issue?: { diagnostics?: string }[] } = {};
      try {
        body = JSON.parse(r.text);
      } catch {
        f.push(`${label}: HTTP ${r.status} body is not JSON: ${r.text.slice(0, 100)}`);
      }
      if (body.resourceType !== 'OperationOutcome') f.push(`${label}: HTTP ${r.status} without an OperationOutcome`);
      const diagnostics = (body.issue ?? []).map((i) => i.diagnostics ?? '').join(' | ');
      if (r.c.names && r.status !== 401 && !diagnostics.includes(r.c.names)) f.push(`${label}: HTTP ${r.status} does not name '${r.c.names}': ${diagnostics.slice(0, 300)}`);
    }
    return f;
  }

  let valid: Record<string, unknown>;
  let bombs: { gzip: Buffer; deflate: Buffer; plain: Buffer };

  beforeAll(async () => {
    lag.enable();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'adversarial-'));
    fhir = await startHostileFhirServer();
    const pair = await generateKeyPair('ES384');
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    const behaviours = Object.keys(HOSTILE_FHIR_BEHAVIOURS) as HostileBehaviour[];
    await fs.writeFile(path.join(tmp, 'clients.json'), JSON.stringify({ clients: [{ iss: ISS, jwks: { keys: [jwk] }, fhirServers: behaviours.map((b) => fhir.base(b)) }] }));
    t = await startCdsApp({
      CDS_CLIENTS_FILE: path.join(tmp, 'clients.json'), CDS_PUBLIC_URL: PUBLIC_URL, LEADER_DATA_DIR: tmp,
      // Each FHIR bound set so that it, not another one, is what each hostile server trips.
      FHIR_TIMEOUT_MS: '2500', FHIR_DEADLINE_MS: String(FHIR_DEADLINE_MS), FHIR_MAX_RESPONSE_BYTES: '2mb', FHIR_MAX_PAGES: '5',
    });
    valid = hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice'), drafts: [draftOrder('draft-1', 'alice', { system: SYSTEM.atc, code: 'N02BE01', display: 'paracetamol' })] });
    bombs = { gzip: await compress('gzip', 200), deflate: await compress('deflate', 200), plain: Buffer.alloc(25 * 1024 * 1024, 0x20) };
    // Warm-up, not measured: the first call loads lazily built tables (terminology titles, compiled code paths).
    const warm = await send(t.url, 'POST', SELECT_PATH, { 'Content-Type': 'application/json', Authorization: `Bearer ${await token(`${PUBLIC_URL}${SELECT_PATH}`)}` }, Buffer.from(JSON.stringify(valid)));
    if (warm.status !== 200) throw new Error(`warm-up call answered HTTP ${warm.status}: ${warm.text.slice(0, 300)}`);
  }, 120_000);

  afterAll(async () => {
    lag.disable();
    printReport(results);
    await t?.close();
    await fhir?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('the valid request it mutates answers 200 with cards', async () => {
    const [r] = await run([{ family: 'valid', name: 'order-select, alice, full prefetch', method: 'POST', path: SELECT_PATH, body: valid, auth: 'valid', expect: [200] }]);
    expect(failuresOf(r)).toEqual([]);
    expect(JSON.parse(r.text).cards.length).toBeGreaterThan(0);
  });

  it('answers >= 300 generated field-type faults with a 4xx naming the field (or a 2xx), never a 5xx', async () => {
    const cases = fieldCases(valid);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const out = await run(cases);
    expect(out.flatMap((r) => failuresOf(r))).toEqual([]);
    expect(out.filter((r) => r.status === 400).length).toBeGreaterThan(300);
  });

  it('answers wire-level faults (encodings, charsets, bombs, sizes, broken JSON, prototype keys) with the right 4xx', async () => {
    const out = await run(wireCases(valid, t.config.bodyLimitBytes, bombs));
    expect(out.flatMap((r) => failuresOf(r))).toEqual([]);
  });

  it('refuses JWT faults with 401 before reading the body', async () => {
    const now = Math.floor(Date.now() / 1000);
    const out = await run(authCases(valid, {
      expired: await token(`${PUBLIC_URL}${SELECT_PATH}`, { iat: now - 900, exp: now - 600 }),
      otherAud: await token(`http://other.example${SELECT_PATH}`),
      lifetime: await token(`${PUBLIC_URL}${SELECT_PATH}`, { exp: now + 86_400 }),
      garbage: 'a.b.c',
    }));
    expect(out.flatMap((r) => failuresOf(r))).toEqual([]);
  });

  it('answers 412 naming the key when the FHIR server misbehaves, within the call deadline, and follows no redirect off its origin', async () => {
    const before = fhir.hits.elsewhere ?? 0;
    const out = await run(fhirServerCases(valid, fhir.base, Object.keys(HOSTILE_FHIR_BEHAVIOURS) as HostileBehaviour[]));
    expect(out.flatMap((r) => failuresOf(r, FHIR_DEADLINE_MS + CASE_BOUND_MS))).toEqual([]);
    expect(fhir.hits.elsewhere ?? 0).toBe(before);
    const text = (b: HostileBehaviour) => out.find((r) => r.c.name.endsWith(b))!.text;
    expect(text('gzip-bomb')).toMatch(/FHIR_MAX_RESPONSE_BYTES/);
    expect(text('endless')).toMatch(/more than \d+ pages/);
    expect(text('slow-pages')).toMatch(/FHIR_DEADLINE_MS/);
    expect(text('html')).toMatch(/text\/html, not FHIR JSON/);
    expect(text('redirect-off')).toMatch(/redirect to another origin/);
    expect(text('malformed-resource')).toMatch(/code\.coding must be an array/);
  });

  it('answers the long records (3,000-encounter cycle, 2,000 chain, 50,000 conditions) with cards, and the oversized ones with 413/422 naming the limit, /health/live staying responsive', async () => {
    const big = (name: string, prefetch: Record<string, unknown>, expect: number[], names?: string): HostileCase => ({
      family: 'long record', name, method: 'POST', path: SELECT_PATH, auth: 'valid', expect, ...(names ? { names } : {}),
      body: hookRequest('order-select', 'alice', { prefetch, drafts: [draftOrder('draft-1', 'alice', { system: SYSTEM.atc, code: 'N02BE01' })] }),
    });
    const out = await run([
      big('3,000-encounter partOf cycle', encounterCycle(3000), [200]),
      big('2,000-encounter partOf chain', encounterChain(2000), [200]),
      big('50,000 conditions placed by date against 1,000 open encounters', longRecord(1000, 50_000), [200]),
      big('60,000 conditions (over CDS_MAX_RESOURCES_PER_KEY)', longRecord(10, 60_000), [413], 'CDS_MAX_RESOURCES_PER_KEY'),
      big('6,000 encounters (over CDS_MAX_VISITS)', longRecord(6000, 0), [422], 'CDS_MAX_VISITS'),
      big('2,500 distinct codes in one visit (over CDS_MAX_CODES_PER_VISIT)', crowdedVisit(2500), [422], 'CDS_MAX_CODES_PER_VISIT'),
      big('an ingredient graph of 8,421 paths (over CDS_MAX_MEDICATION_PARTS)', ingredientExplosion(), [422], 'CDS_MAX_MEDICATION_PARTS'),
    ]);
    expect(out.flatMap((r) => failuresOf(r, LONG_RECORD_BOUND_MS))).toEqual([]);
    const cycle = JSON.parse(out[0].text) as { cards: unknown[] };
    expect(cycle.cards.length).toBeGreaterThan(0);
  });

  it('keeps the event loop responsive while the 10 MB record is parsed and processed: no block is a large share of the request', async () => {
    const body = hookRequest('order-select', 'alice', { prefetch: longRecord(1000, 50_000), drafts: [draftOrder('draft-1', 'alice', { system: SYSTEM.atc, code: 'N02BE01' })] });
    const mib = (JSON.stringify(body).length / 2 ** 20).toFixed(1);
    const out = await run([1, 2, 3].map((i) => ({ family: 'long record', name: `50,000 conditions (${mib} MiB), event-loop check, run ${i}`, method: 'POST', path: SELECT_PATH, auth: 'valid', expect: [200], body }) as HostileCase));
    expect(out.flatMap((r) => failuresOf(r, LONG_RECORD_BOUND_MS))).toEqual([]);
    // Shares of the request's own time, so they hold on a busy machine; the median of three runs, so
    // that one run descheduled by the other engineers' load (it shows as lag and as time) does not count.
    const share = (f: (r: Result) => number) => out.map((r) => f(r) / r.ms).sort((a, b) => a - b)[1];
    const blocks: string[] = [];
    if (share((r) => r.lagMs) >= MAX_BLOCK_SHARE) blocks.push(`the worst event-loop lag was ${(100 * share((r) => r.lagMs)).toFixed(0)} %`);
    if (share((r) => r.healthMs) >= MAX_BLOCK_SHARE) blocks.push(`the worst /health/live wait was ${(100 * share((r) => r.healthMs)).toFixed(0)} %`);
    expect(blocks.map((b) => `${b} of the request's time in the median of 3 runs (bound ${100 * MAX_BLOCK_SHARE} %): is the body parsed in one block again?`)).toEqual([]);
  });

  it('keeps the service answering after all of it', async () => {
    const [r] = await run([{ family: 'valid', name: 'order-select after the hostile traffic', method: 'POST', path: SELECT_PATH, body: valid, auth: 'valid', expect: [200] }]);
    expect(failuresOf(r)).toEqual([]);
  });
});

describe('adversarial suite (issue 9): slow clients', () => {
  it('cuts off a body that trickles in slower than CDS_REQUEST_TIMEOUT_MS', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'adversarial-slow-'));
    const t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: tmp, CDS_REQUEST_TIMEOUT_MS: '1500' });
    try {
      const u = new URL(t.url);
      const started = performance.now();
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest({ host: u.hostname, port: u.port, path: SELECT_PATH, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': '100000' } }, (res) => resolve(`HTTP ${res.statusCode}`));
        req.on('error', (e) => resolve(`closed (${e.message})`));
        req.write('{"hook":');
        const drip = setInterval(() => req.write(' '), 200);
        req.on('close', () => clearInterval(drip));
        const giveUp = setTimeout(() => { clearInterval(drip); req.destroy(); resolve('still open after 15 s'); }, 15_000);
        req.on('close', () => clearTimeout(giveUp));
      });
      expect(outcome).not.toBe('still open after 15 s');
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await t.close();
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

function printReport(results: Result[]): void {
  if (results.length === 0) return;
  const statuses = new Map<number, number>();
  for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const families = new Map<string, Result[]>();
  for (const r of results) families.set(r.c.family, [...(families.get(r.c.family) ?? []), r]);
  const ms = (x: number) => `${Math.round(x)} ms`;
  const worst = (rs: Result[], f: (r: Result) => number) => rs.reduce((a, b) => (f(b) > f(a) ? b : a));
  const lines = [
    '',
    '| family | cases | statuses | worst latency | worst event-loop lag | worst /health/live |',
    '|---|---|---|---|---|---|',
  ];
  for (const [family, rs] of families) {
    const st = new Map<number, number>();
    for (const r of rs) st.set(r.status, (st.get(r.status) ?? 0) + 1);
    lines.push(`| ${family} | ${rs.length} | ${[...st].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')} | ${ms(worst(rs, (r) => r.ms).ms)} | ${ms(worst(rs, (r) => r.lagMs).lagMs)} | ${ms(worst(rs, (r) => r.healthMs).healthMs)} |`);
  }
  lines.push('', `all: ${results.length} cases; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}; 5xx: ${results.filter((r) => r.status >= 500).length}; hangs: ${results.filter((r) => r.error === 'hang').length}`);
  lines.push('', 'long records and bombs:');
  for (const r of results.filter((x) => x.c.family === 'long record' || /bomb|CDS_BODY_LIMIT|MiB/.test(x.c.name))) {
    lines.push(`  ${r.c.name}: HTTP ${r.status} in ${ms(r.ms)}, event-loop lag ≤ ${ms(r.lagMs)}, /health/live ≤ ${ms(r.healthMs)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

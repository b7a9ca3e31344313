import { promises as fs } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT, UnsecuredJWT } from 'jose';
import request from 'supertest';
import { CdsJwtGuard } from '../../src/cds-hooks/auth/cds-jwt.guard';
import { loadAppConfig } from '../../src/config/app-config';
import { validateCdsResponse } from '../support/cds-response.validator';
import { CdsTestApp, fullPrefetch, hookRequest, sharedServingData, startCdsApp } from '../support/cds-test-app';

const SELECT = 'leader-medications-order-select';
const EHR = 'https://ehr.example.org';
const EPIC = 'https://epic.example.org';
const ES256_CLIENT = 'https://es256.example.org';
const REMOTE = 'https://remote-jwks.example.org';
/** The configured public URL: aud is checked against it, never against the request's Host. */
const PUBLIC_URL = 'http://cds.test';

interface Signer { key: KeyLike; kid: string; alg: string; iss: string }

describe(`${CdsJwtGuard.name} (e2e: JWT matrix)`, () => {
  let t: CdsTestApp;
  let tmp: string;
  let jwksServer: Server;
  const signers: Record<string, Signer> = {};

  async function signer(name: string, alg: string, iss: string): Promise<JWK> {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    signers[name] = { key: privateKey, kid: `${name}-kid`, alg, iss };
    return { ...(await exportJWK(publicKey)), kid: `${name}-kid`, use: 'sig', alg };
  }

  async function token(name: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
    const s = signers[name];
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: s.iss, jti: randomUUID(), iat: now, exp: now + 300, ...claims };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
    return new SignJWT(payload as Record<string, unknown>).setProtectedHeader({ alg: s.alg, typ: 'JWT', kid: s.kid, ...header }).sign(s.key);
  }

  const aud = (p: string) => `${PUBLIC_URL}${p}`;
  const call = (jwt: string | undefined) => {
    const r = request(t.url).post(`/cds-services/${SELECT}`);
    if (jwt !== undefined) r.set('Authorization', `Bearer ${jwt}`);
    return r.send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') }));
  };
  const expect401 = async (jwt: string | undefined) => {
    const res = await call(jwt).expect(401);
    // No detail: an OperationOutcome with a bare login issue.
    expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
  };

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-auth-'));
    const sandboxLike = await signer('es384', 'ES384', EHR);
    const epic = await signer('rs384', 'RS384', EPIC);
    const es256 = await signer('es256', 'ES256', ES256_CLIENT);
    await signer('es256-at-ehr', 'ES256', EHR);
    await signer('stranger', 'ES384', EHR); // same iss, key not on record
    const remote = await signer('remote', 'ES384', REMOTE);
    jwksServer = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [remote] }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    const clients = {
      clients: [
        { iss: EHR, jwks: { keys: [sandboxLike] }, fhirServers: ['https://fhir.ehr.example.org/r4/'] },
        { iss: EPIC, jwks: { keys: [epic] } },
        { iss: ES256_CLIENT, jwks: { keys: [es256] }, algorithms: ['ES256'] },
        { iss: REMOTE, jwksUrl },
      ],
    };
    await fs.writeFile(path.join(tmp, 'clients.json'), JSON.stringify(clients));
    t = await startCdsApp({ CDS_CLIENTS_FILE: path.join(tmp, 'clients.json'), LEADER_DATA_DIR: tmp, CDS_PUBLIC_URL: PUBLIC_URL });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => jwksServer?.close(r));
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('accepts ES384 (Sandbox-style, with a jku it does not follow) on discovery, service call and feedback', async () => {
    await request(t.url).get('/cds-services').set('Authorization', `Bearer ${await token('es384', { aud: aud('/cds-services') }, { jku: 'https://sandbox.cds-hooks.org/.well-known/jwks.json' })}`).expect(200);
    const res = await call(await token('es384', { aud: aud(`/cds-services/${SELECT}`) })).expect(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    await request(t.url).post(`/cds-services/${SELECT}/feedback`).set('Authorization', `Bearer ${await token('es384', { aud: aud(`/cds-services/${SELECT}/feedback`) })}`)
      .send({ feedback: [{ card: 'c', outcome: 'overridden', outcomeTimestamp: '2026-11-27T14:56:28.771Z' }] }).expect(200);
  });

  it('accepts RS384 with nbf and sub (Epic-style), and a key from an allowlisted jwksUrl', async () => {
    const now = Math.floor(Date.now() / 1000);
    await call(await token('rs384', { aud: aud(`/cds-services/${SELECT}`), nbf: now - 300, sub: 'client-id' })).expect(200);
    await call(await token('remote', { aud: aud(`/cds-services/${SELECT}`) })).expect(200);
  });

  it('accepts ES256 only for a client configured for it', async () => {
    await call(await token('es256', { aud: aud(`/cds-services/${SELECT}`) })).expect(200);
    await expect401(await token('es256-at-ehr', { aud: aud(`/cds-services/${SELECT}`) }));
  });

  it('rejects alg none and HMAC', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = new UnsecuredJWT({ iss: EHR, aud: aud(`/cds-services/${SELECT}`), jti: randomUUID(), iat: now, exp: now + 300 }).encode();
    await expect401(none);
    const hs = await new SignJWT({ iss: EHR, aud: aud(`/cds-services/${SELECT}`), jti: randomUUID(), iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!!'));
    await expect401(hs);
  });

  it.each([
    ['no token', async () => undefined],
    ['a token that is not a JWT', async () => 'not.a.jwt'],
    ['aud of another endpoint', async () => token('es384', { aud: aud('/cds-services') })],
    ['aud of the address actually called (not the configured public URL)', async () => token('es384', { aud: `${t.url}/cds-services/${SELECT}` })],
    ['a lifetime beyond CDS_JWT_MAX_LIFETIME_S', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), exp: Math.floor(Date.now() / 1000) + 3600 })],
    ['expired beyond the skew', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 120 })],
    ['iat in the future', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 900 })],
    ['nbf in the future', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['no jti', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), jti: undefined })],
    ['no exp', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), exp: undefined })],
    ['an unknown issuer', async () => token('es384', { aud: aud(`/cds-services/${SELECT}`), iss: 'https://evil.example.org' })],
    ['a key not on record', async () => token('stranger', { aud: aud(`/cds-services/${SELECT}`) })],
  ])('rejects %s with 401 and no detail', async (_name, make) => {
    await expect401(await make());
  });

  it('accepts a skew of a few seconds on exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    await call(await token('es384', { aud: aud(`/cds-services/${SELECT}`), iat: now - 305, exp: now - 5 })).expect(200);
  });

  it('rejects a replayed jti', async () => {
    const jwt = await token('es384', { aud: aud(`/cds-services/${SELECT}`) });
    await call(jwt).expect(200);
    await expect401(jwt);
  });

  it('checks aud against CDS_PUBLIC_URL when configured (behind a proxy)', async () => {
    const behindProxy = await startCdsApp({ CDS_CLIENTS_FILE: path.join(tmp, 'clients.json'), LEADER_DATA_DIR: tmp, CDS_PUBLIC_URL: 'https://cds.example.org/' });
    try {
      const good = await token('es384', { aud: 'https://cds.example.org/cds-services' });
      await request(behindProxy.url).get('/cds-services').set('Authorization', `Bearer ${good}`).expect(200);
      const local = await token('es384', { aud: `${behindProxy.url}/cds-services` });
      await request(behindProxy.url).get('/cds-services').set('Authorization', `Bearer ${local}`).expect(401);
    } finally {
      await behindProxy.close();
    }
  });

  it('never derives aud from the Host header: a token for another service sent with its Host is refused', async () => {
    const other = await token('es384', { aud: `http://other.example/cds-services/${SELECT}` });
    const res = await request(t.url).post(`/cds-services/${SELECT}`).set('Host', 'other.example').set('Authorization', `Bearer ${other}`)
      .send(hookRequest('order-select', 'alice', { prefetch: fullPrefetch('alice') }));
    expect(res.status).toBe(401);
  });

  it('checks the JWT before reading the body: invalid JSON without a token is 401, not a parser message', async () => {
    const res = await request(t.url).post(`/cds-services/${SELECT}`).set('Content-Type', 'application/json').send('{not json');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
  });

  it('refuses a fhirServer the client is not registered for, before any request leaves (400)', async () => {
    const body = hookRequest('order-select', 'alice', { fhirServer: 'http://127.0.0.1:9/admin', accessToken: 'secret' });
    const res = await request(t.url).post(`/cds-services/${SELECT}`).set('Authorization', `Bearer ${await token('es384', { aud: aud(`/cds-services/${SELECT}`) })}`).send(body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/fhirServer is not a FHIR server registered for client https:\/\/ehr\.example\.org/);
    const noList = await request(t.url).post(`/cds-services/${SELECT}`).set('Authorization', `Bearer ${await token('rs384', { aud: aud(`/cds-services/${SELECT}`) })}`)
      .send(hookRequest('order-select', 'alice', { fhirServer: 'https://fhir.ehr.example.org/r4', accessToken: 'secret' }));
    expect(noList.status).toBe(400);
  });

  it('leaves health and model cards public', async () => {
    await request(t.url).get('/health/live').expect(200);
    await request(t.url).get('/health/ready').expect(200);
    const { model } = await sharedServingData();
    const card = await request(t.url).get(`/models/${model.manifest.name}`).set('Accept', 'application/json').expect(200);
    expect(card.body).toMatchObject({ name: model.manifest.name });
    const page = await request(t.url).get(`/models/${model.manifest.name}`).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    // Public, but still behind the routes: a service call without a token is refused in the same app.
    await request(t.url).post(`/cds-services/${SELECT}`).send(hookRequest('patient-view', 'alice')).expect(401);
  });

  it('refuses to start without trusted clients unless CDS_AUTH_DISABLED=true', () => {
    expect(() => loadAppConfig({})).toThrow(/CDS_CLIENTS_FILE=/);
    expect(() => loadAppConfig({ CDS_AUTH_DISABLED: 'yes' })).toThrow('CDS_AUTH_DISABLED=yes (must be true or false)');
    expect(() => loadAppConfig({ CDS_CLIENTS_FILE: '/nonexistent.json' })).toThrow('CDS_CLIENTS_FILE=/nonexistent.json (file not found)');
    expect(() => loadAppConfig({ CDS_CLIENTS_FILE: path.join(tmp, 'clients.json') })).toThrow(/CDS_PUBLIC_URL= \(required when auth is on/);
    expect(loadAppConfig({ CDS_AUTH_DISABLED: 'true' }).authDisabled).toBe(true);
  });
});

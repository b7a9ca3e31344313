import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { isRecord } from '../common/is-record';

export interface BackendClientSettings {
  clientId: string;
  privateKeyFile: string;
  /** Token endpoint; default: `{fhirServer}/.well-known/smart-configuration`'s token_endpoint. */
  tokenUrl?: string;
  scope: string;
}

/** Why no token: said in one line (the CLI prints it; the worker retries or dead-letters with it). */
export class BackendTokenError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'BackendTokenError';
  }
}

const SIGNING_ALGS = ['RS384', 'ES384'];
const TIMEOUT_MS = 10_000;

/**
 * SMART Backend Services (client_credentials with a `private_key_jwt` assertion, RS384 or ES384): one
 * access token per FHIR server, reused until a minute before it expires.
 */
export class BackendTokenClient {
  private readonly tokens = new Map<string, { token: string; expiresMs: number }>();
  private key: { jwk: JWK; alg: string; kid: string } | undefined;

  constructor(private readonly settings: BackendClientSettings) {}

  /** A bearer token for `fhirServer`, reused while it has more than a minute left. */
  async token(fhirServer: string): Promise<string> {
    const cached = this.tokens.get(fhirServer);
    if (cached && cached.expiresMs - 60_000 > Date.now()) return cached.token;
    const tokenUrl = this.settings.tokenUrl ?? await discoverTokenUrl(fhirServer);
    const { jwk, alg, kid } = this.privateKey();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.settings.clientId).setSubject(this.settings.clientId).setAudience(tokenUrl)
      .setJti(randomUUID()).setIssuedAt().setExpirationTime('5m')
      .sign(await importJWK(jwk, alg));
    const body = new URLSearchParams({
      grant_type: 'client_credentials', scope: this.settings.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    let response: Response;
    try {
      response = await fetch(tokenUrl, { method: 'POST', body, headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new BackendTokenError(`token endpoint ${tokenUrl}: ${networkReason(e)}`, true);
    }
    const json = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (!response.ok || typeof json?.access_token !== 'string') {
      const why = typeof json?.error === 'string' ? `${json.error}${typeof json.error_description === 'string' ? `: ${json.error_description}` : ''}` : `HTTP ${response.status}`;
      throw new BackendTokenError(`token endpoint ${tokenUrl} refused client ${this.settings.clientId}: ${why}`, response.status >= 500 || response.status === 429);
    }
    const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : 300;
    this.tokens.set(fhirServer, { token: json.access_token, expiresMs: Date.now() + expiresIn * 1000 });
    return json.access_token;
  }

  /** Drops the cached token (the server refused it). */
  forget(fhirServer: string): void {
    this.tokens.delete(fhirServer);
  }

  private privateKey(): { jwk: JWK; alg: string; kid: string } {
    if (this.key) return this.key;
    const file = this.settings.privateKeyFile;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new BackendTokenError(`SUBSCRIPTIONS_PRIVATE_KEY_FILE ${file}: ${(e as Error).message.split('\n')[0]}`, false);
    }
    const keys = isRecord(parsed) && Array.isArray(parsed.keys) ? parsed.keys : [parsed];
    const jwk = keys.find((k): k is JWK => isRecord(k) && typeof k.d === 'string');
    if (!jwk) throw new BackendTokenError(`SUBSCRIPTIONS_PRIVATE_KEY_FILE ${file}: no private JWK (a key with "d") in it`, false);
    const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES384' : 'RS384');
    if (!SIGNING_ALGS.includes(alg)) throw new BackendTokenError(`SUBSCRIPTIONS_PRIVATE_KEY_FILE ${file}: alg ${alg}; SMART Backend Services signs with ${SIGNING_ALGS.join(' or ')}`, false);
    if (typeof jwk.kid !== 'string') throw new BackendTokenError(`SUBSCRIPTIONS_PRIVATE_KEY_FILE ${file}: the key has no kid (the server picks the public key by it)`, false);
    this.key = { jwk, alg, kid: jwk.kid };
    return this.key;
  }
}

/** The token endpoint a FHIR server advertises in `.well-known/smart-configuration`. */
async function discoverTokenUrl(fhirServer: string): Promise<string> {
  const url = `${fhirServer.replace(/\/+$/, '')}/.well-known/smart-configuration`;
  let json: unknown;
  try {
    const response = await fetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) throw new BackendTokenError(`${url}: HTTP ${response.status} (set SUBSCRIPTIONS_TOKEN_URL)`, response.status >= 500);
    json = await response.json();
  } catch (e) {
    if (e instanceof BackendTokenError) throw e;
    throw new BackendTokenError(`${url}: ${networkReason(e)}`, true);
  }
  const endpoint = isRecord(json) ? json.token_endpoint : undefined;
  if (typeof endpoint !== 'string') throw new BackendTokenError(`${url} names no token_endpoint (set SUBSCRIPTIONS_TOKEN_URL)`, false);
  return endpoint;
}

/** Why fetch failed, in words: the socket error's code (ECONNREFUSED, ENOTFOUND…) or undici's reason. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

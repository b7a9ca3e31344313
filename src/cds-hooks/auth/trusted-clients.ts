import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';

/** Algorithms a client may be allowed; ES384/RS384 by default, ES256/RS256 only when configured. */
export const ALLOWED_ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256'] as const;
export const DEFAULT_ALGORITHMS = ['ES384', 'RS384'];

/** One trusted CDS client (EHR): its issuer and its keys, inline or by an allowlisted JWKS URL. */
export interface TrustedClient {
  iss: string;
  jwks?: JSONWebKeySet;
  jwksUrl?: string;
  algorithms: string[];
  /**
   * FHIR server base URLs this client may name in `fhirServer` (normalised: no trailing slash).
   * Empty: the client may not name any, so the service never fetches on its behalf.
   */
  fhirServers: string[];
}

/** A base URL as compared against `fhirServers`: parsed, origin lower-cased, no trailing slash, no query. */
export function normaliseFhirBase(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash) return undefined;
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Whether `fhirServer` is one of the client's allowed FHIR bases (exact, after normalisation). */
export function fhirServerAllowed(client: Pick<TrustedClient, 'fhirServers'>, fhirServer: string): boolean {
  const wanted = normaliseFhirBase(fhirServer);
  return wanted !== undefined && client.fhirServers.includes(wanted);
}

export class TrustedClientsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedClientsError';
  }
}

/**
 * Reads CDS_CLIENTS_FILE: `{"clients": [{"iss", "jwks" | "jwksUrl", "algorithms"?, "fhirServers"?}]}` (a bare array
 * is accepted too). Every problem names the file and the entry.
 */
export function loadTrustedClients(file: string): TrustedClient[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TrustedClientsError(`${file}: cannot read trusted CDS clients (${(e as Error).message.split('\n')[0]})`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { clients?: unknown })?.clients;
  if (!Array.isArray(list)) throw new TrustedClientsError(`${file}: expected {"clients": [...]}`);
  const seen = new Set<string>();
  return list.map((entry: Record<string, unknown>, i): TrustedClient => {
    const where = `${file}: clients[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new TrustedClientsError(`${where} must be an object`);
    if (typeof entry.iss !== 'string' || entry.iss === '') throw new TrustedClientsError(`${where}.iss must be a non-empty string`);
    if (seen.has(entry.iss)) throw new TrustedClientsError(`${where}.iss "${entry.iss}" is listed twice`);
    seen.add(entry.iss);
    const jwks = entry.jwks as JSONWebKeySet | undefined;
    const jwksUrl = entry.jwksUrl;
    if (jwks === undefined && jwksUrl === undefined) throw new TrustedClientsError(`${where} needs "jwks" (inline) or "jwksUrl"`);
    if (jwks !== undefined && (typeof jwks !== 'object' || !Array.isArray(jwks.keys) || jwks.keys.length === 0)) {
      throw new TrustedClientsError(`${where}.jwks must be a JWK Set with a non-empty "keys" array`);
    }
    if (jwks?.keys.some((k) => k.kty === 'oct')) throw new TrustedClientsError(`${where}.jwks holds a symmetric key; CDS Hooks forbids HMAC`);
    if (jwksUrl !== undefined) {
      if (typeof jwksUrl !== 'string' || !/^https?:\/\//.test(jwksUrl)) throw new TrustedClientsError(`${where}.jwksUrl must be an http(s) URL`);
    }
    let algorithms = DEFAULT_ALGORITHMS;
    if (entry.algorithms !== undefined) {
      if (!Array.isArray(entry.algorithms) || entry.algorithms.length === 0) throw new TrustedClientsError(`${where}.algorithms must be a non-empty array`);
      for (const a of entry.algorithms) {
        if (!(ALLOWED_ALGORITHMS as readonly string[]).includes(a)) {
          throw new TrustedClientsError(`${where}.algorithms: "${String(a)}" is not allowed (allowed: ${ALLOWED_ALGORITHMS.join(', ')})`);
        }
      }
      algorithms = entry.algorithms as string[];
    }
    const fhirServers: string[] = [];
    if (entry.fhirServers !== undefined) {
      if (!Array.isArray(entry.fhirServers)) throw new TrustedClientsError(`${where}.fhirServers must be an array of FHIR base URLs`);
      entry.fhirServers.forEach((u: unknown, j: number) => {
        const base = typeof u === 'string' ? normaliseFhirBase(u) : undefined;
        if (base === undefined) throw new TrustedClientsError(`${where}.fhirServers[${j}] must be an absolute http(s) base URL without query`);
        fhirServers.push(base);
      });
    }
    return { iss: entry.iss, jwks, jwksUrl: jwksUrl as string | undefined, algorithms, fhirServers };
  });
}

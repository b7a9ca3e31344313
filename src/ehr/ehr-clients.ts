import { readFileSync } from 'node:fs';
import { CliError } from '../common/cli-error';
import { parseResourceScope } from './smart-scopes';

/**
 * A client registered with the local EHR (`--clients FILE`, `{"clients": [...]}`):
 * - `public`: a browser SMART app, PKCE only (`launch_url`, `redirect_uris`).
 * - `confidential-asymmetric`: a SMART app that also signs a client assertion with its key (`jwks`).
 * - `backend`: SMART Backend Services, `client_credentials` with a `private_key_jwt` assertion
 *   signed RS384 or ES384 by a key in `jwks` (public keys only).
 * `scope` is what the client may be granted: SMART scopes, where `patient/*.rs` also covers
 * `patient/Observation.rs`.
 */
export interface EhrClient {
  client_id: string;
  name: string;
  type: 'public' | 'confidential-asymmetric' | 'backend';
  scope: string;
  launch_url?: string;
  redirect_uris?: string[];
  jwks?: { keys: Record<string, unknown>[] };
}

export interface EhrClientsFile {
  clients: EhrClient[];
}

const TYPES = new Set(['public', 'confidential-asymmetric', 'backend']);
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Reads and checks a clients file; every problem is one line naming the file and the client. */
export function readClientsFile(file: string): EhrClient[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code ? `cannot read (${(e as NodeJS.ErrnoException).code})` : `not JSON (${(e as Error).message.split('\n')[0]})`}`);
  }
  const clients = (value as Partial<EhrClientsFile> | null)?.clients;
  if (!Array.isArray(clients)) throw new CliError(`${file}: expected {"clients": [...]}`);
  return clients.map((c, i) => checkClient(c as Partial<EhrClient>, `${file}: clients[${i}]`));
}

/** Checks one client (from a file or built in code). */
export function checkClient(c: Partial<EhrClient>, where: string): EhrClient {
  if (!c || typeof c !== 'object') throw new CliError(`${where}: not an object`);
  if (typeof c.client_id !== 'string' || c.client_id === '') throw new CliError(`${where}: client_id is required`);
  const at = `${where} (${c.client_id})`;
  if (!c.type || !TYPES.has(c.type)) throw new CliError(`${at}: type must be public, confidential-asymmetric or backend`);
  if (typeof c.scope !== 'string' || c.scope.trim() === '') throw new CliError(`${at}: scope is required (the SMART scopes it may be granted)`);
  const bad = c.scope.split(/\s+/).find((s) => /^(patient|user|system)\//.test(s) && !parseResourceScope(s));
  if (bad) throw new CliError(`${at}: scope ${bad} is not a SMART resource scope (context/Type.cruds)`);
  if (c.type === 'backend') {
    if (c.scope.split(/\s+/).some((s) => /^(patient|user)\//.test(s))) throw new CliError(`${at}: a backend client takes system/ scopes only`);
  } else {
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0 || !c.redirect_uris.every(isHttpUrl)) throw new CliError(`${at}: redirect_uris must list the app's http(s) redirect URLs`);
    if (c.launch_url !== undefined && !isHttpUrl(c.launch_url)) throw new CliError(`${at}: launch_url must be an http(s) URL`);
  }
  if (c.type !== 'public') {
    const keys = c.jwks?.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new CliError(`${at}: jwks.keys is required (the client's public keys) for a ${c.type} client`);
    keys.forEach((k, j) => {
      if (!k || (k.kty !== 'RSA' && k.kty !== 'EC')) throw new CliError(`${at}: jwks.keys[${j}] must be an RSA or EC public key`);
      if (PRIVATE_JWK_MEMBERS.some((m) => m in k)) throw new CliError(`${at}: jwks.keys[${j}] holds a private key; register the public key only`);
    });
  }
  return { name: c.client_id, ...c } as EhrClient;
}

function isHttpUrl(value: unknown): boolean {
  return typeof value === 'string' && /^https?:\/\/[^\s]+$/.test(value);
}

import type { Bundle, Resource } from 'fhir/r4';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFhirServer {
  /** FHIR base, e.g. http://127.0.0.1:1234/fhir */
  base: string;
  /** Every request received: method, path and query, Authorization header. */
  requests: { method: string; url: string; authorization?: string }[];
  close(): Promise<void>;
}

/**
 * A FHIR R4 read/search server over fixed resources for the API tests: `Type/id` reads and
 * `Type?patient=id` searches; `tokens` maps each bearer token to the one patient it may read
 * (no token → 401, another patient → 403, a token mapped to null → 403 for everything).
 */
export function startFakeFhirServer(resources: Resource[], tokens: Record<string, string | null>): Promise<FakeFhirServer> {
  const requests: FakeFhirServer['requests'] = [];
  const outcome = (code: string, text: string) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? 'GET', url: `${url.pathname}${url.search}`, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const send = (status: number, body: string) => res.writeHead(status, { 'Content-Type': 'application/fhir+json' }).end(body);
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || !(token in tokens)) return send(401, outcome('login', 'no valid bearer token'));
    const allowed = tokens[token];
    const path = url.pathname.replace(/^\/fhir\/?/, '');
    const read = /^([A-Za-z]+)\/([^/]+)$/.exec(path);
    if (read) {
      const [, type, id] = read;
      if (type === 'Patient' && id !== allowed) return send(403, outcome('forbidden', `token may not read Patient/${id}`));
      const found = resources.find((r) => r.resourceType === type && r.id === id);
      return found ? send(200, JSON.stringify(found)) : send(404, outcome('not-found', `${type}/${id} not found`));
    }
    const type = /^([A-Za-z]+)$/.exec(path)?.[1];
    const patient = url.searchParams.get('patient')?.replace(/^Patient\//, '');
    if (type === undefined || patient === undefined) return send(400, outcome('not-supported', 'only Type/id and Type?patient= are served'));
    if (patient !== allowed) return send(403, outcome('forbidden', `token may not search Patient/${patient}`));
    const hits = resources.filter((r) => r.resourceType === type && JSON.stringify((r as { subject?: unknown; patient?: unknown }).subject ?? (r as { patient?: unknown }).patient ?? {}).includes(`Patient/${patient}`));
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: hits.length, entry: hits.map((resource) => ({ resource })) };
    return send(200, JSON.stringify(bundle));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  })));
}

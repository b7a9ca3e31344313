import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A FHIR "server" on 127.0.0.1 that misbehaves in one way per base path, for the adversarial suite:
 * each `/<behaviour>/` is a separate fhirServer a trusted client is registered for.
 */
export const HOSTILE_FHIR_BEHAVIOURS = {
  /** A gzip answer that inflates to 100 MiB of JSON whitespace. */
  'gzip-bomb': 'a gzip-compressed answer inflating to 100 MiB',
  /** A Content-Length far beyond any limit. */
  'huge-declared': 'an answer declaring 1 GB of content',
  /** Every search page links to another page, forever (a new URL each time). */
  endless: 'an endless chain of next pages',
  /** Answers each request after 700 ms (within the per-request timeout, past the deadline over many pages). */
  'slow-pages': 'slow pages of an endless chain',
  /** Never answers (the per-request timeout and the call's deadline must end it). */
  silent: 'no answer at all',
  /** An HTML login page with status 200. */
  html: 'an HTML page instead of FHIR',
  /** Truncated JSON with status 200. */
  'bad-json': 'invalid JSON',
  /** JSON that is not a FHIR resource. */
  'not-fhir': 'JSON without resourceType',
  /** A redirect to another origin (the token must not follow, nor may its data be used). */
  'redirect-off': 'a redirect to another origin',
  /** A Bundle whose entry is an object and whose resources are malformed. */
  'malformed-bundle': 'a Bundle whose entry is not an array',
  'malformed-resource': 'a Condition whose code.coding is a string',
  /** HTTP 500 with an OperationOutcome. */
  'server-error': 'HTTP 500',
} as const;
export type HostileBehaviour = keyof typeof HOSTILE_FHIR_BEHAVIOURS;

export interface HostileFhirServer {
  origin: string;
  base(behaviour: HostileBehaviour): string;
  /** Requests received per behaviour (to show nothing left the service where it should not). */
  hits: Record<string, number>;
  close(): Promise<void>;
}

export async function startHostileFhirServer(): Promise<HostileFhirServer> {
  const hits: Record<string, number> = {};
  // Compressed once: '{"resourceType":"Bundle","entry":[' and 100 MiB of spaces, about 100 kB on the wire.
  const bomb = gzipSync(Buffer.concat([Buffer.from('{"resourceType":"Bundle","type":"searchset","entry":['), Buffer.alloc(100 * 1024 * 1024, 0x20)]), { level: 9 });
  const open = new Set<ServerResponse>();
  let origin = '';
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/fhir+json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const behaviour = url.pathname.split('/')[1] as HostileBehaviour;
    hits[behaviour] = (hits[behaviour] ?? 0) + 1;
    const page = Number(url.searchParams.get('page') ?? '0');
    const next = () => `${origin}/${behaviour}${url.pathname.slice(behaviour.length + 1)}?page=${page + 1}&patient=alice`;
    switch (behaviour) {
      case 'gzip-bomb':
        res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'gzip', 'Content-Length': String(bomb.length) });
        return void res.end(bomb);
      case 'huge-declared':
        res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Length': String(1024 ** 3) });
        res.write('{"resourceType":"Bundle"');
        return void res.on('close', () => undefined);
      case 'endless':
      case 'slow-pages': {
        const answer = () => json(res, 200, { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: next() }], entry: [] });
        if (behaviour === 'slow-pages') return void setTimeout(answer, 700);
        return answer();
      }
      case 'silent':
        open.add(res);
        return;
      case 'html':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return void res.end('<html><body>Please log in</body></html>');
      case 'bad-json':
        res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
        return void res.end('{"resourceType":"Bundle","entry":[');
      case 'not-fhir':
        return json(res, 200, { hello: 'world' });
      case 'redirect-off':
        res.writeHead(302, { Location: `http://localhost:${new URL(origin).port}/elsewhere${url.pathname}` });
        return void res.end();
      case 'malformed-bundle':
        return json(res, 200, { resourceType: 'Bundle', type: 'searchset', entry: { resource: { resourceType: 'Condition' } } });
      case 'malformed-resource':
        return json(res, 200, {
          resourceType: 'Bundle', type: 'searchset',
          entry: [{ resource: { resourceType: url.pathname.includes('Patient') ? 'Patient' : 'Condition', id: 'alice', subject: { reference: 'Patient/alice' }, code: { coding: 'E11.9' } } }],
        });
      case 'server-error':
        return json(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'boom' }] });
      default:
        return json(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    }
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    base: (b) => `${origin}/${b}`,
    hits,
    close: async () => {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

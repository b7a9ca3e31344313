import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from 'fhir/r4';
import { fhirR4Problem } from './fhir-resource.utils';

export interface FhirServerClientOptions {
  /** Sent as `Authorization: Bearer …` on every request (CDS Hooks `fhirAuthorization.access_token`). */
  bearerToken?: string;
  /** Per-request limit in ms (default 10 000); a request past it fails with reason `timeout`. */
  timeoutMs?: number;
  /** `_count` added to searches that do not set one. */
  pageSize?: number;
  /** Stop following `next` links after this many pages (default 1000): a guard against link loops. */
  maxPages?: number;
  /** Largest answer in bytes, checked on the wire (Content-Length) and after decompression (default 20 MiB). */
  maxResponseBytes?: number;
  /** Most resources one search may return over all its pages (default unbounded). */
  maxResources?: number;
  /** One deadline shared by every request of this client (e.g. a whole CDS Hooks call). */
  deadline?: AbortSignal;
}

export type FhirServerErrorReason = 'http' | 'timeout' | 'network' | 'protocol' | 'limit';

/** A failed FHIR server call. `status` is the HTTP status when the server answered. */
export class FhirServerError extends Error {
  constructor(
    message: string,
    readonly reason: FhirServerErrorReason,
    readonly url: string,
    readonly status?: number,
    /** The OperationOutcome the server sent with an error status, if any. */
    readonly outcome?: OperationOutcome,
    /** What went wrong, without the URL (safe to put in a response): the limit passed, what the answer was instead of FHIR. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'FhirServerError';
  }
}

const MAX_REDIRECTS = 5;

/**
 * A small FHIR R4 REST client over Node's fetch: searches that follow `Bundle.link` next (same
 * origin only, so the bearer token never leaves the server it was issued for), reads by reference,
 * typed errors, and bounds on everything a server controls: time per request and per client
 * (`deadline`), bytes per answer (on the wire and decompressed, read as a stream and cut off at the
 * limit), pages, resources. Redirects are followed only on the server's own origin; an answer that
 * is not FHIR JSON (an HTML login page, a proxy error) is reported as such.
 */
export class FhirServerClient {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  private readonly maxResponseBytes: number;

  constructor(baseUrl: string, private readonly options: FhirServerClientOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new FhirServerError(`not a FHIR server URL: ${baseUrl}`, 'protocol', baseUrl);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new FhirServerError(`not an http(s) FHIR server URL: ${baseUrl}`, 'protocol', baseUrl);
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.origin = parsed.origin;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxPages = options.maxPages ?? 1000;
    this.maxResponseBytes = options.maxResponseBytes ?? 20 * 1024 * 1024;
  }

  /** Search pages for a query relative to the base (`Condition?patient=123`), following `next` links. */
  async *searchPages(query: string): AsyncGenerator<Bundle> {
    let url = this.absolute(this.withPageSize(query));
    const seen = new Set<string>();
    for (let page = 0; ; page++) {
      if (page >= this.maxPages) throw new FhirServerError(`GET ${url}: more than ${this.maxPages} pages`, 'limit', url, undefined, undefined, `more than ${this.maxPages} pages`);
      seen.add(url);
      const bundle = await this.exchange(url);
      if (bundle.resourceType !== 'Bundle') throw new FhirServerError(`GET ${url}: expected a Bundle, got ${String(bundle.resourceType)}`, 'protocol', url);
      yield bundle as Bundle;
      const next = (bundle as Bundle).link?.find((l) => l.relation === 'next')?.url;
      if (!next) return;
      const nextUrl = this.absolute(next);
      if (seen.has(nextUrl)) throw new FhirServerError(`GET ${url}: next link repeats ${nextUrl}`, 'protocol', url);
      url = nextUrl;
    }
  }

  /** Every resource of a search (matches and `_include`d resources), all pages; OperationOutcome entries are dropped. */
  async searchAll(query: string): Promise<Resource[]> {
    const out: Resource[] = [];
    const max = this.options.maxResources ?? Infinity;
    for await (const page of this.searchPages(query)) {
      const entries = page.entry ?? [];
      if (!Array.isArray(entries)) throw new FhirServerError(`GET ${query}: Bundle.entry is not an array`, 'protocol', query, undefined, undefined, 'a Bundle whose entry is not an array');
      for (const entry of entries) {
        if (typeof entry !== 'object' || entry === null || !entry.resource || entry.search?.mode === 'outcome') continue;
        if (out.length >= max) throw new FhirServerError(`GET ${query}: more than ${max} resources`, 'limit', query, undefined, undefined, `more than ${max} resources`);
        out.push(entry.resource);
      }
    }
    return out;
  }

  /** Reads `Type/id` (or an absolute URL on this server). */
  async read<T extends Resource = Resource>(reference: string): Promise<T> {
    const url = this.absolute(reference);
    const resource = await this.exchange(url);
    const expected = /([A-Z][A-Za-z]+)\/[^/?#]+(?:\/_history\/[^/?#]+)?$/.exec(new URL(url).pathname)?.[1];
    if (expected && resource.resourceType !== expected) throw new FhirServerError(`GET ${url}: expected ${expected}, got ${String(resource.resourceType)}`, 'protocol', url);
    return resource as T;
  }

  /** `GET metadata`. */
  async capabilityStatement(): Promise<CapabilityStatement> {
    const url = this.absolute('metadata');
    const cs = await this.exchange(url, false);
    if (cs.resourceType !== 'CapabilityStatement') {
      throw new FhirServerError(`GET ${url}: expected a CapabilityStatement, got ${String(cs.resourceType)} (not a FHIR R4 server?)`, 'protocol', url);
    }
    return cs as CapabilityStatement;
  }

  /** Throws unless the server's CapabilityStatement says FHIR 4.0.x. */
  async assertR4(): Promise<void> {
    const cs = await this.capabilityStatement();
    const version = cs.fhirVersion;
    if (typeof version !== 'string' || !/^4\.0(\.|$)/.test(version)) {
      throw new FhirServerError(`${this.baseUrl}: server speaks FHIR ${version ?? '(no fhirVersion)'}; only FHIR R4 (4.0.x) is supported`, 'protocol', this.absolute('metadata'));
    }
  }

  private withPageSize(query: string): string {
    const size = this.options.pageSize;
    if (!size || /[?&]_count=/.test(query)) return query;
    return `${query}${query.includes('?') ? '&' : '?'}_count=${size}`;
  }

  private absolute(refOrUrl: string): string {
    let url: URL;
    try {
      url = new URL(refOrUrl.replace(/^\//, ''), this.baseUrl);
    } catch {
      throw new FhirServerError(`not a reference or URL: ${refOrUrl}`, 'protocol', refOrUrl);
    }
    if (url.origin !== this.origin) throw new FhirServerError(`${refOrUrl}: not on ${this.origin}; refusing to send the token elsewhere`, 'protocol', refOrUrl);
    return url.toString();
  }

  /**
   * A write (`POST` a transaction Bundle to the base, `PUT Type/id`, `DELETE Type/id`) with the same
   * bounds as reads; the server's answer (undefined when it sends no body). Never follows redirects.
   */
  async send(method: 'POST' | 'PUT' | 'DELETE', reference: string, body?: Resource): Promise<Resource | undefined> {
    return this.exchange(this.absolute(reference), false, method, body);
  }

  /** GET (or a write) with the bounds above; the parsed JSON body of a 2xx FHIR answer. */
  private async exchange(url: string, checkVersion = true, method: 'GET' | 'POST' | 'PUT' | 'DELETE' = 'GET', payload?: Resource): Promise<Resource> {
    const signals = [AbortSignal.timeout(this.timeoutMs)];
    if (this.options.deadline) signals.push(this.options.deadline);
    const signal = AbortSignal.any(signals);
    const headers: Record<string, string> = { Accept: 'application/fhir+json, application/json;q=0.9', 'Accept-Encoding': 'gzip, deflate' };
    if (this.options.bearerToken) headers.Authorization = `Bearer ${this.options.bearerToken}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/fhir+json';
    const init = { method, headers, redirect: 'manual' as const, signal, ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}) };
    let current = url;
    let response: Response;
    let text: string;
    try {
      for (let hop = 0; ; hop++) {
        response = await fetch(current, init);
        const location = response.headers.get('location');
        if (method !== 'GET' || response.status < 300 || response.status >= 400 || location === null) break;
        await response.body?.cancel();
        const target = new URL(location, current);
        if (target.origin !== this.origin) {
          throw new FhirServerError(`${method} ${url}: redirected to ${target.origin}, not ${this.origin}; refused`, 'protocol', url, response.status, undefined, `a redirect to another origin (${target.origin}), refused`);
        }
        if (hop >= MAX_REDIRECTS) throw new FhirServerError(`${method} ${url}: more than ${MAX_REDIRECTS} redirects`, 'protocol', url, response.status, undefined, `more than ${MAX_REDIRECTS} redirects`);
        current = target.toString();
      }
      text = await this.boundedText(response, url);
    } catch (e) {
      if (e instanceof FhirServerError) throw e;
      throw toFhirServerError(e, url, this.timeoutMs, this.options.deadline, method);
    }
    const contentType = response.headers.get('content-type') ?? '(no content type)';
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
      if (body === undefined && method !== 'GET' && response.ok) return undefined as unknown as Resource;
    } catch {
      const what = `HTTP ${response.status} with ${contentType.split(';')[0]}, not FHIR JSON`;
      throw new FhirServerError(`${method} ${url}: ${what}`, response.ok ? 'protocol' : 'http', url, response.status, undefined, what);
    }
    const resource = body as Record<string, unknown> | undefined;
    if (!response.ok) {
      const outcome = resource?.resourceType === 'OperationOutcome' ? (resource as unknown as OperationOutcome) : undefined;
      const issue = Array.isArray(outcome?.issue) ? outcome.issue[0] : undefined;
      const detail = typeof issue?.diagnostics === 'string' ? issue.diagnostics : typeof issue?.details?.text === 'string' ? issue.details.text : undefined;
      throw new FhirServerError(`${method} ${url}: HTTP ${response.status}${detail ? ` (${detail})` : ''}`, 'http', url, response.status, outcome);
    }
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource) || typeof resource.resourceType !== 'string') {
      const what = `HTTP ${response.status} with JSON that is not a FHIR resource`;
      throw new FhirServerError(`${method} ${url}: ${what}`, 'protocol', url, response.status, undefined, what);
    }
    if (checkVersion) {
      const entries = resource.resourceType === 'Bundle' ? (Array.isArray(resource.entry) ? resource.entry : []).map((e: { resource?: Resource } | null) => e?.resource) : [resource];
      for (const r of entries) {
        const problem = r && typeof r === 'object' ? fhirR4Problem(r as Resource) : undefined;
        if (problem) throw new FhirServerError(`${method} ${url}: ${problem}`, 'protocol', url, undefined, undefined, problem);
      }
    }
    return resource as unknown as Resource;
  }

  /** The body as text, refused past maxResponseBytes: by Content-Length (wire bytes) before reading, and while reading (decompressed bytes). */
  private async boundedText(response: Response, url: string): Promise<string> {
    const max = this.maxResponseBytes;
    const tooLarge = (what: string) => new FhirServerError(`GET ${url}: answer larger than ${max} bytes (${what})`, 'limit', url, response.status, undefined, `an answer larger than ${max} bytes ${what} (FHIR_MAX_RESPONSE_BYTES)`);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      await response.body?.cancel();
      throw tooLarge('on the wire');
    }
    if (response.body === null) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel();
        throw tooLarge('decompressed');
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  }
}

function toFhirServerError(e: unknown, url: string, timeoutMs: number, deadline?: AbortSignal, method = 'GET'): FhirServerError {
  const err = e as { name?: string; message?: string; response?: { status?: number; data?: unknown }; cause?: { code?: string; message?: string } };
  if (deadline?.aborted) return new FhirServerError(`${method} ${url}: the call's deadline for FHIR requests passed`, 'timeout', url, undefined, undefined, 'the deadline for all FHIR requests of this call passed (FHIR_DEADLINE_MS)');
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return new FhirServerError(`${method} ${url}: no answer within ${timeoutMs} ms`, 'timeout', url);
  const status = err?.response?.status;
  if (typeof status === 'number') {
    const data = err.response?.data as OperationOutcome | undefined;
    const outcome = data && typeof data === 'object' && data.resourceType === 'OperationOutcome' ? data : undefined;
    const detail = outcome?.issue?.[0]?.diagnostics ?? outcome?.issue?.[0]?.details?.text;
    return new FhirServerError(`${method} ${url}: HTTP ${status}${detail ? ` (${detail})` : ''}`, status >= 200 && status < 300 ? 'protocol' : 'http', url, status, outcome);
  }
  const cause = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return new FhirServerError(`${method} ${url}: ${cause}`, 'network', url);
}

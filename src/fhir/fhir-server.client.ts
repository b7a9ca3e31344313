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
}

export type FhirServerErrorReason = 'http' | 'timeout' | 'network' | 'protocol';

/** A failed FHIR server call. `status` is the HTTP status when the server answered. */
export class FhirServerError extends Error {
  constructor(
    message: string,
    readonly reason: FhirServerErrorReason,
    readonly url: string,
    readonly status?: number,
    /** The OperationOutcome the server sent with an error status, if any. */
    readonly outcome?: OperationOutcome,
  ) {
    super(message);
    this.name = 'FhirServerError';
  }
}

type KitClient = import('fhir-kit-client', { with: { 'resolution-mode': 'import' } }).Client;

/**
 * A small FHIR R4 REST client over fhir-kit-client: searches that follow `Bundle.link` next
 * (same origin only, so the bearer token never leaves the server it was issued for), reads by
 * reference, a bounded timeout per request and typed errors. fhir-kit-client 2.x is ESM-only,
 * so it is loaded with a real `import()` on first use.
 */
export class FhirServerClient {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  private kit?: Promise<KitClient>;

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
  }

  /** Search pages for a query relative to the base (`Condition?patient=123`), following `next` links. */
  async *searchPages(query: string): AsyncGenerator<Bundle> {
    let url = this.absolute(this.withPageSize(query));
    const seen = new Set<string>();
    for (let page = 0; ; page++) {
      if (page >= this.maxPages) throw new FhirServerError(`GET ${url}: more than ${this.maxPages} pages`, 'protocol', url);
      seen.add(url);
      const bundle = await this.get(url);
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
    for await (const page of this.searchPages(query)) {
      for (const entry of page.entry ?? []) {
        if (!entry.resource || entry.search?.mode === 'outcome') continue;
        out.push(entry.resource);
      }
    }
    return out;
  }

  /** Reads `Type/id` (or an absolute URL on this server). */
  async read<T extends Resource = Resource>(reference: string): Promise<T> {
    const url = this.absolute(reference);
    const resource = await this.get(url);
    const expected = /([A-Z][A-Za-z]+)\/[^/?#]+(?:\/_history\/[^/?#]+)?$/.exec(new URL(url).pathname)?.[1];
    if (expected && resource.resourceType !== expected) throw new FhirServerError(`GET ${url}: expected ${expected}, got ${String(resource.resourceType)}`, 'protocol', url);
    return resource as T;
  }

  /** `GET metadata`. */
  async capabilityStatement(): Promise<CapabilityStatement> {
    const url = this.absolute('metadata');
    const cs = await this.get(url, false);
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

  private client(): Promise<KitClient> {
    this.kit ??= import('fhir-kit-client').then(({ Client }) => new Client({ baseUrl: this.baseUrl, bearerToken: this.options.bearerToken }));
    return this.kit;
  }

  private async get(url: string, checkVersion = true): Promise<Resource> {
    const client = await this.client();
    let body: Record<string, unknown>;
    try {
      body = (await client.request(url, { options: { signal: AbortSignal.timeout(this.timeoutMs) } })) as Record<string, unknown>;
    } catch (e) {
      throw toFhirServerError(e, url, this.timeoutMs);
    }
    if (!body || typeof body.resourceType !== 'string') throw new FhirServerError(`GET ${url}: response is not a FHIR resource`, 'protocol', url);
    if (checkVersion) {
      const entries = body.resourceType === 'Bundle' ? ((body as unknown as Bundle).entry ?? []).map((e) => e.resource) : [body];
      for (const r of entries) {
        const problem = r ? fhirR4Problem(r) : undefined;
        if (problem) throw new FhirServerError(`GET ${url}: ${problem}`, 'protocol', url);
      }
    }
    return body as unknown as Resource;
  }
}

function toFhirServerError(e: unknown, url: string, timeoutMs: number): FhirServerError {
  const err = e as { name?: string; message?: string; response?: { status?: number; data?: unknown }; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return new FhirServerError(`GET ${url}: no answer within ${timeoutMs} ms`, 'timeout', url);
  const status = err?.response?.status;
  if (typeof status === 'number') {
    const data = err.response?.data as OperationOutcome | undefined;
    const outcome = data && typeof data === 'object' && data.resourceType === 'OperationOutcome' ? data : undefined;
    const detail = outcome?.issue?.[0]?.diagnostics ?? outcome?.issue?.[0]?.details?.text;
    return new FhirServerError(`GET ${url}: HTTP ${status}${detail ? ` (${detail})` : ''}`, status >= 200 && status < 300 ? 'protocol' : 'http', url, status, outcome);
  }
  const cause = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return new FhirServerError(`GET ${url}: ${cause}`, 'network', url);
}

import { startFhirStubServer, type FhirStubServer } from '../../test/fixtures/fhir-stub-server';
import { fixtureResources } from '../../test/fixtures/patients/fixture-resources';
import { FhirServerClient, FhirServerError } from './fhir-server.client';
import { type HostileFhirServer, startHostileFhirServer } from '../../test/adversarial/hostile-fhir-server';

describe(FhirServerClient.name, () => {
  let stub: FhirStubServer;
  beforeAll(async () => {
    stub = await startFhirStubServer({ resources: fixtureResources(), pageSize: 2, token: 'secret-token' });
  });
  afterAll(() => stub.close());
  beforeEach(() => stub.requests.splice(0));

  it('follows next links across pages and sends the bearer token on every request', async () => {
    const sut = new FhirServerClient(stub.url, { bearerToken: 'secret-token' });
    const conditions = await sut.searchAll('Condition?patient=erin');
    expect(conditions).toHaveLength(40);
    expect(new Set(conditions.map((c) => c.id)).size).toBe(40);
    expect(stub.requests).toHaveLength(20);
    expect(stub.requests.every((r) => r.authorization === 'Bearer secret-token')).toBe(true);
  });

  it('returns _include-d resources with the matches', async () => {
    const sut = new FhirServerClient(stub.url, { bearerToken: 'secret-token', pageSize: 100 });
    const found = await sut.searchAll('MedicationRequest?patient=alice&_include=MedicationRequest:medication');
    expect(found.filter((r) => r.resourceType === 'MedicationRequest')).toHaveLength(8);
    expect(found.filter((r) => r.resourceType === 'Medication').map((m) => m.id).sort()).toEqual(['med-furosemide', 'med-insulin', 'med-metoprolol', 'med-mix-kcl-ns']);
    expect(stub.requests[0].query.get('_count')).toBe('100');
  });

  it('reads by reference', async () => {
    const sut = new FhirServerClient(stub.url, { bearerToken: 'secret-token' });
    await expect(sut.read('Patient/bob')).resolves.toMatchObject({ resourceType: 'Patient', id: 'bob', gender: 'male' });
  });

  it('throws a FhirServerError with the HTTP status and OperationOutcome', async () => {
    const noToken = new FhirServerClient(stub.url);
    const e = await noToken.read('Patient/bob').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(FhirServerError);
    expect(e).toMatchObject({ status: 401, reason: 'http', outcome: { resourceType: 'OperationOutcome' } });
    expect((e as Error).message).toMatch(/HTTP 401 \(missing or wrong bearer token\)/);
    const sut = new FhirServerClient(stub.url, { bearerToken: 'secret-token' });
    await expect(sut.read('Patient/nobody')).rejects.toMatchObject({ status: 404 });
    await expect(sut.searchAll('Condition?code=123')).rejects.toMatchObject({ status: 400 });
  });

  it('accepts an R4 server and refuses another FHIR version', async () => {
    await expect(new FhirServerClient(stub.url).assertR4()).resolves.toBeUndefined();
    const stu3 = await startFhirStubServer({ resources: [], fhirVersion: '3.0.2' });
    try {
      await expect(new FhirServerClient(stu3.url).assertR4()).rejects.toThrow(/server speaks FHIR 3\.0\.2; only FHIR R4 \(4\.0\.x\) is supported/);
    } finally {
      await stu3.close();
    }
  });

  it('refuses resources of an older FHIR version in a search result', async () => {
    const dstu2 = await startFhirStubServer({ resources: [{ resourceType: 'MedicationOrder', id: 'x' } as never] });
    try {
      await expect(new FhirServerClient(dstu2.url).searchAll('MedicationOrder')).rejects.toThrow(/MedicationOrder is DSTU2/);
    } finally {
      await dstu2.close();
    }
  });

  it('gives up after timeoutMs with reason timeout', async () => {
    const slow = await startFhirStubServer({ resources: [], delayMs: 1000 });
    try {
      const started = Date.now();
      await expect(new FhirServerClient(slow.url, { timeoutMs: 100 }).read('Patient/x')).rejects.toMatchObject({ reason: 'timeout' });
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      await slow.close();
    }
  });

  it('never follows a next link to another origin (the token would leak)', async () => {
    const evil = await startFhirStubServer({
      resources: [],
      respond: (r) => (r.path === 'Patient' ? { status: 200, body: { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'http://evil.example/fhir/Patient?page=2' }], entry: [] } } : undefined),
    });
    try {
      await expect(new FhirServerClient(evil.url, { bearerToken: 't' }).searchAll('Patient')).rejects.toMatchObject({ reason: 'protocol', message: expect.stringMatching(/refusing to send the token elsewhere/) });
    } finally {
      await evil.close();
    }
  });

  it('reports an unreachable server as a network error', async () => {
    const gone = await startFhirStubServer({ resources: [] });
    const url = gone.url;
    await gone.close();
    await expect(new FhirServerClient(url, { timeoutMs: 2000 }).read('Patient/x')).rejects.toMatchObject({ reason: 'network', status: undefined });
  });

  describe('bounds on what a server controls', () => {
    let hostile: HostileFhirServer;
    beforeAll(async () => {
      hostile = await startHostileFhirServer();
    });
    afterAll(() => hostile.close());

    it('cuts off an answer past maxResponseBytes, by Content-Length and decompressed', async () => {
      await expect(new FhirServerClient(hostile.base('huge-declared'), { maxResponseBytes: 1024 * 1024 }).searchAll('Condition')).rejects.toMatchObject({ reason: 'limit', detail: expect.stringMatching(/larger than 1048576 bytes on the wire/) });
      await expect(new FhirServerClient(hostile.base('gzip-bomb'), { maxResponseBytes: 1024 * 1024 }).searchAll('Condition')).rejects.toMatchObject({ reason: 'limit', detail: expect.stringMatching(/larger than 1048576 bytes decompressed/) });
    });

    it('refuses a redirect to another origin without following it, and names a non-FHIR answer', async () => {
      await expect(new FhirServerClient(hostile.base('redirect-off'), { bearerToken: 't' }).read('Patient/alice')).rejects.toMatchObject({ reason: 'protocol', detail: expect.stringMatching(/redirect to another origin/) });
      expect(hostile.hits.elsewhere).toBeUndefined();
      await expect(new FhirServerClient(hostile.base('html')).read('Patient/alice')).rejects.toMatchObject({ reason: 'protocol', detail: 'HTTP 200 with text/html, not FHIR JSON' });
      await expect(new FhirServerClient(hostile.base('not-fhir')).read('Patient/alice')).rejects.toMatchObject({ detail: 'HTTP 200 with JSON that is not a FHIR resource' });
    });

    it('stops at maxPages and at the shared deadline, whatever the per-request timeout', async () => {
      await expect(new FhirServerClient(hostile.base('endless'), { maxPages: 5 }).searchAll('Condition')).rejects.toMatchObject({ reason: 'limit', detail: 'more than 5 pages' });
      const started = Date.now();
      const deadline = AbortSignal.timeout(1500);
      await expect(new FhirServerClient(hostile.base('slow-pages'), { timeoutMs: 10_000, deadline }).searchAll('Condition')).rejects.toMatchObject({ reason: 'timeout', detail: expect.stringMatching(/FHIR_DEADLINE_MS/) });
      expect(Date.now() - started).toBeLessThan(8000);
    });
  });
});

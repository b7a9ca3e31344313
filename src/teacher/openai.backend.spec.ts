import { CliError } from '../common/cli-error';
import { fakeVector, startFakeEmbeddingsServer, type FakeEmbeddingsServer, type ScriptedReply } from '../../test/support/fake-embeddings.server';
import { OpenAiBackend, embeddingsEndpoint } from './openai.backend';

describe(OpenAiBackend.name, () => {
  let server: FakeEmbeddingsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (script?: (n: number) => ScriptedReply) => (server = await startFakeEmbeddingsServer({ dim: 16, script }));
  const prompts = Array.from({ length: 10 }, (_, i) => `prompt ${i}`);

  it('returns one vector per prompt in order, batching and bounding requests', async () => {
    const srv = await start();
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher', inputsPerRequest: 3, concurrency: 2 });
    const vectors = await sut.embed(prompts);
    expect(vectors.map((v) => Array.from(v))).toEqual(prompts.map((p) => Array.from(Float32Array.from(fakeVector(p, 16)))));
    // Batches run concurrently, so they may reach the server in any order.
    expect(srv.requests.map((r) => r.inputs.length).sort((a, b) => b - a)).toEqual([3, 3, 3, 1]);
    expect(sut.dim).toBe(16);
  });

  it('sends the API key from the named environment variable as a bearer token', async () => {
    const srv = await start();
    const sut = new OpenAiBackend({ url: `${srv.url}/v1/`, model: 'teacher', apiKey: 'sk-test' });
    await sut.embed(['a']);
    expect(srv.requests[0].authorization).toBe('Bearer sk-test');
  });

  it('survives a 429 with Retry-After and a 500 by retrying', async () => {
    const srv = await start((n) => (n === 1 ? { status: 429, retryAfter: '0' } : n === 2 ? { status: 500 } : undefined));
    const retries: (number | string)[] = [];
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher', backoffMs: 1, onRetry: (r) => retries.push(r.status) });
    const vectors = await sut.embed(['x', 'y']);
    expect(vectors).toHaveLength(2);
    expect(retries).toEqual([429, 500]);
    expect(srv.requests.map((r) => r.status)).toEqual([429, 500, 200]);
  });

  it('gives up after maxRetries with a clear error', async () => {
    const srv = await start(() => ({ status: 503 }));
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher', backoffMs: 1, maxRetries: 2 });
    await expect(sut.embed(['x'])).rejects.toThrow(/HTTP 503, still failing after 3 attempts/);
  });

  it('does not retry a 400 and reports the server message', async () => {
    const srv = await start(() => ({ status: 400 }));
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher', backoffMs: 1 });
    await expect(sut.embed(['x'])).rejects.toThrow(/HTTP 400 .*scripted 400/);
    expect(srv.requests).toHaveLength(1);
  });

  it('refuses a dimension change between requests', async () => {
    const srv = await start((n) => (n === 2 ? { dim: 8 } : undefined));
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher', inputsPerRequest: 2, concurrency: 1 });
    await expect(sut.embed(['a', 'b', 'c'])).rejects.toThrow(/dimension changed from 16 to 8/);
  });

  it('refuses a response whose count does not match the inputs', async () => {
    const srv = await start(() => ({ dropOne: true }));
    const sut = new OpenAiBackend({ url: srv.url, model: 'teacher' });
    await expect(sut.embed(['a', 'b'])).rejects.toBeInstanceOf(CliError);
    await expect(sut.embed(['a', 'b'])).rejects.toThrow(/sent 2 inputs, got 1 embeddings/);
  });

  it('retries a refused connection and then fails clearly', async () => {
    const srv = await start();
    const url = srv.url;
    await srv.close();
    server = undefined;
    const sut = new OpenAiBackend({ url, model: 'teacher', backoffMs: 1, maxRetries: 1 });
    await expect(sut.embed(['a'])).rejects.toThrow(/request failed \(ECONNREFUSED\), still failing after 2 attempts/);
  });

  it('hashes url, model and the served model id', async () => {
    const srv = await start();
    const a = await new OpenAiBackend({ url: srv.url, model: 'teacher-a' }).modelHash();
    const b = await new OpenAiBackend({ url: srv.url, model: 'teacher-b' }).modelHash();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  it('merges extra body fields and warns once about L2-normalised vectors', async () => {
    const bodies: unknown[] = [];
    const http = await import('node:http');
    const srv = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const body = JSON.parse(text) as { input: string[] };
        bodies.push(body);
        res.end(JSON.stringify({ model: 'x', data: body.input.map((_, index) => ({ index, embedding: [0.6, 0.8] })) }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const warnings: string[] = [];
      const sut = new OpenAiBackend({ url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`, model: 'm', extraBody: { embd_normalize: -1 }, onWarning: (w) => warnings.push(w) });
      await sut.embed(['a']);
      await sut.embed(['b']);
      expect(bodies[0]).toMatchObject({ embd_normalize: -1, model: 'm', input: ['a'] });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/L2-normalises/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('builds the embeddings endpoint from a base URL', () => {
    expect(embeddingsEndpoint('http://h:1')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsEndpoint('http://h:1/v1/')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsEndpoint('http://h:1/v1/embeddings')).toBe('http://h:1/v1/embeddings');
  });
});

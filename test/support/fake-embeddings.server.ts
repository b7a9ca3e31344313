/**
 * A real HTTP server on 127.0.0.1 speaking the OpenAI `/v1/embeddings` API, for the openai teacher
 * backend tests. Vectors are a deterministic function of the input text (sha256-seeded), so runs
 * are comparable. `script` injects failures per request number (1-based) to test retries.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeEmbeddingsServer {
  url: string;
  requests: { inputs: string[]; authorization?: string; status: number }[];
  close(): Promise<void>;
}

export type ScriptedReply = { status: number; retryAfter?: string } | { dim: number } | { dropOne: true } | undefined;

export function fakeVector(text: string, dim: number): number[] {
  const out: number[] = [];
  for (let block = 0; out.length < dim; block++) {
    const h = createHash('sha256').update(`${block}|${text}`).digest();
    for (let i = 0; i + 2 <= h.length && out.length < dim; i += 2) out.push(h.readUInt16LE(i) / 65535 - 0.5);
  }
  return out;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeEmbeddingsServer(options: { dim?: number; servedModel?: string; script?: (n: number) => ScriptedReply } = {}): Promise<FakeEmbeddingsServer> {
  const dim = options.dim ?? 32;
  const requests: FakeEmbeddingsServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await body(req);
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end('{"error":"not found"}');
        return;
      }
      const parsed = JSON.parse(text) as { model: string; input: string[] };
      const reply = options.script?.(requests.length + 1);
      const record = { inputs: parsed.input, authorization: req.headers.authorization, status: 200 };
      requests.push(record);
      if (reply && 'status' in reply) {
        record.status = reply.status;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.retryAfter !== undefined ? { 'retry-after': reply.retryAfter } : {}) });
        res.end(JSON.stringify({ error: { message: `scripted ${reply.status}` } }));
        return;
      }
      const d = reply && 'dim' in reply ? reply.dim : dim;
      const inputs = reply && 'dropOne' in reply ? parsed.input.slice(1) : parsed.input;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        object: 'list', model: options.servedModel ?? parsed.model,
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t, d) })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

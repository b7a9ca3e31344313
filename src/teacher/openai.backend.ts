/**
 * Teacher features from any OpenAI-compatible `/v1/embeddings` endpoint: vLLM serving a (LoRA
 * fine-tuned) decoder with last-token pooling across GPUs, or `llama-server --embeddings --pooling
 * last`. The server must pool the LAST token (LEADER's feature); this client cannot check that.
 *
 * Requests carry at most `inputsPerRequest` prompts; at most `concurrency` are in flight. 429, 5xx
 * and network errors are retried with exponential backoff and jitter, honouring Retry-After.
 */
import { createHash } from 'node:crypto';
import { CliError } from '../common/cli-error';
import type { TeacherBackend } from './teacher-backend';

export interface OpenAiBackendOptions {
  url: string;
  model: string;
  /** The API key, sent as Bearer when set (the CLI reads it from the variable --api-key-env names). */
  apiKey?: string;
  concurrency?: number;
  inputsPerRequest?: number;
  maxRetries?: number;
  /** First backoff delay; doubles per attempt, capped at 30 s. */
  backoffMs?: number;
  requestTimeoutMs?: number;
  /** Extra JSON fields for every request body, e.g. {"embd_normalize": -1} for llama-server. */
  extraBody?: Record<string, unknown>;
  /** Called once if the vectors look L2-normalised (LEADER distils unnormalised hidden states). */
  onWarning?: (message: string) => void;
  /** Called before each retry (for the progress output). */
  onRetry?: (info: { attempt: number; status: number | string; delayMs: number }) => void;
}

interface EmbeddingsResponse {
  data?: { embedding?: number[]; index?: number }[];
  model?: string;
}

const PROBE_INPUT = 'LEADER teacher probe';

class RetryableError extends Error {
  constructor(message: string, readonly status: number | string, readonly retryAfterMs?: number) {
    super(message);
  }
}

export function embeddingsEndpoint(url: string): string {
  const base = url.replace(/\/+$/, '');
  if (base.endsWith('/embeddings')) return base;
  return base.endsWith('/v1') ? `${base}/embeddings` : `${base}/v1/embeddings`;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value == null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

export class OpenAiBackend implements TeacherBackend {
  readonly name = 'openai';
  readonly model: string;
  readonly pooling = 'server-side pooling (must be last-token, unnormalised: vLLM pooler {"pooling_type":"LAST","normalize":false} or llama-server --pooling last)';
  dim?: number;
  /** The model id the server reports (may differ from the requested name, e.g. a path). */
  servedModel?: string;
  retries = 0;
  private warnedNormalised = false;
  private readonly endpoint: string;
  private readonly apiKey?: string;
  private readonly concurrency: number;
  private readonly inputsPerRequest: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: OpenAiBackendOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new CliError(`--url ${options.url}: not a valid URL`);
    }
    if (!/^https?:$/.test(parsed.protocol)) throw new CliError(`--url ${options.url}: must be http(s)`);
    if (!options.model) throw new CliError('--model is required with --backend openai (the served model name)');
    this.endpoint = embeddingsEndpoint(options.url);
    this.model = options.model;
    this.apiKey = options.apiKey || undefined;
    this.concurrency = options.concurrency ?? 4;
    this.inputsPerRequest = options.inputsPerRequest ?? 16;
    this.maxRetries = options.maxRetries ?? 5;
    this.backoffMs = options.backoffMs ?? 500;
    this.timeoutMs = options.requestTimeoutMs ?? 120_000;
    for (const [flag, v] of [['--concurrency', this.concurrency], ['--inputs-per-request', this.inputsPerRequest]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new CliError(`${flag} must be a positive integer (got ${v})`);
    }
  }

  /** sha256 of `url|model|served model id`; a probe request also fixes the dimension. */
  async modelHash(): Promise<string> {
    if (this.servedModel === undefined) await this.embed([PROBE_INPUT]);
    return createHash('sha256').update(`${this.endpoint}|${this.model}|${this.servedModel ?? ''}`).digest('hex');
  }

  async embed(prompts: string[]): Promise<Float32Array[]> {
    const chunks: string[][] = [];
    for (let i = 0; i < prompts.length; i += this.inputsPerRequest) chunks.push(prompts.slice(i, i + this.inputsPerRequest));
    const results: Float32Array[][] = new Array(chunks.length);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const k = next++;
        results[k] = await this.request(chunks[k]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, chunks.length) }, worker));
    return results.flat();
  }

  async close(): Promise<void> {}

  private async request(input: string[]): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce(input);
      } catch (e) {
        if (!(e instanceof RetryableError) || attempt >= this.maxRetries) {
          if (e instanceof RetryableError) throw new CliError(`${this.endpoint}: ${e.message}, still failing after ${attempt + 1} attempts`);
          throw e;
        }
        const backoff = Math.min(30_000, this.backoffMs * 2 ** attempt) * (0.5 + Math.random() * 0.5);
        const delayMs = e.retryAfterMs ?? backoff;
        this.retries++;
        this.options.onRetry?.({ attempt: attempt + 1, status: e.status, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private async requestOnce(input: string[]): Promise<Float32Array[]> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) },
        body: JSON.stringify({ ...this.options.extraBody, model: this.model, input, encoding_format: 'float' }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new RetryableError(`request failed (${cause})`, cause);
    }
    const text = await res.text().catch(() => '');
    if (res.status === 429 || res.status >= 500) throw new RetryableError(`HTTP ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
    if (!res.ok) throw new CliError(`${this.endpoint}: HTTP ${res.status} ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
    let body: EmbeddingsResponse;
    try {
      body = JSON.parse(text) as EmbeddingsResponse;
    } catch {
      throw new CliError(`${this.endpoint}: response is not JSON`);
    }
    if (!Array.isArray(body.data) || body.data.length !== input.length) {
      throw new CliError(`${this.endpoint}: sent ${input.length} inputs, got ${Array.isArray(body.data) ? body.data.length : 'no'} embeddings back`);
    }
    if (typeof body.model === 'string') {
      if (this.servedModel !== undefined && this.servedModel !== body.model) throw new CliError(`${this.endpoint}: the server switched models from "${this.servedModel}" to "${body.model}" mid-run`);
      this.servedModel = body.model;
    } else this.servedModel ??= '';
    const ordered = body.data.every((d) => typeof d.index === 'number') ? [...body.data].sort((a, b) => a.index! - b.index!) : body.data;
    if (ordered.some((d, i) => d.index !== undefined && d.index !== i)) throw new CliError(`${this.endpoint}: embedding indices are not 0..${input.length - 1}`);
    const vectors = ordered.map((d, i) => {
      const v = d.embedding;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new CliError(`${this.endpoint}: embedding ${i} is not a float array (request encoding_format "float")`);
      if (this.dim === undefined) this.dim = v.length;
      else if (v.length !== this.dim) throw new CliError(`${this.endpoint}: embedding dimension changed from ${this.dim} to ${v.length}; refusing to mix features`);
      return Float32Array.from(v);
    });
    if (!this.warnedNormalised && vectors.length > 0 && vectors.every((v) => Math.abs(Math.hypot(...v) - 1) < 1e-3)) {
      this.warnedNormalised = true;
      this.options.onWarning?.(`${this.endpoint} returns unit-length vectors: the server L2-normalises; LEADER distils the raw last-token hidden state (llama-server: --extra-body '{"embd_normalize":-1}', vLLM: pooler "normalize": false)`);
    }
    return vectors;
  }
}

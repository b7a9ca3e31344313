/**
 * Teacher features from a local GGUF model through node-llama-cpp (pinned 3.21.1, an optional
 * dependency). The only module that loads node-llama-cpp, and only with a dynamic import() when a
 * backend is opened, so nothing that the service boots can pull it in.
 *
 * What the vector is, precisely (LEADER, leader.md §2/§3/§7.13-14):
 * - the prompt is tokenized without special tokens, truncated to its first `maxTokens - 1` tokens
 *   (LEADER keeps the head, 2047 tokens) and EOS is appended;
 * - node-llama-cpp prepends BOS only when the GGUF says `tokenizer.ggml.add_bos_token = true`
 *   (LEADER used none; set it false in the GGUF to match exactly);
 * - llama.cpp runs the model in an embeddings context and returns the hidden state of the LAST
 *   token after the final norm (before the LM head, unnormalised). That is what llama.cpp gives for
 *   a decoder whose GGUF has no `<arch>.pooling_type` (none) or `= 3` (last). A GGUF declaring mean
 *   (1), cls (2) or rank (4) pooling is refused: it would not be LEADER's feature.
 */
import { sha256File } from '../common/sha256';
import { promises as fs } from 'node:fs';
import { CliError } from '../common/cli-error';
import type { TeacherBackend } from './teacher-backend';

export interface LlamaCppBackendOptions {
  modelPath: string;
  /** CPU threads for evaluation; always explicit (toolchain.md §5: defaults oversubscribe small machines). */
  threads: number;
  /** Longest prompt in tokens, EOS included (LEADER: 2048). */
  maxTokens?: number;
}

const POOLING_NAMES: Record<number, string> = { 0: 'none', 1: 'mean', 2: 'cls', 3: 'last', 4: 'rank' };

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
type LlamaModel = Awaited<ReturnType<Awaited<ReturnType<NodeLlamaCpp['getLlama']>>['loadModel']>>;
type LlamaEmbeddingContext = Awaited<ReturnType<LlamaModel['createEmbeddingContext']>>;

export class LlamaCppBackend implements TeacherBackend {
  readonly name = 'llama-cpp';
  readonly pooling: string;
  /** Prompts cut to maxTokens so far (LEADER keeps the head). */
  truncated = 0;
  private hash?: string;

  private constructor(
    readonly model: string,
    private readonly llamaModel: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
    private readonly maxPromptTokens: number,
    readonly dim: number,
    readonly threads: number,
    addsBos: boolean,
  ) {
    this.pooling = `last-token hidden state after final norm (llama.cpp embeddings), prompt head ≤${maxPromptTokens} tokens + EOS, BOS ${addsBos ? 'prepended (GGUF add_bos_token)' : 'none'}`;
  }

  static async open(options: LlamaCppBackendOptions): Promise<LlamaCppBackend> {
    try {
      await fs.access(options.modelPath);
    } catch {
      throw new CliError(`--model ${options.modelPath}: GGUF file not found`);
    }
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new CliError(`--threads must be a positive integer (got ${options.threads})`);
    let lib: NodeLlamaCpp;
    try {
      lib = await import('node-llama-cpp');
    } catch (e) {
      throw new CliError(`node-llama-cpp could not be loaded (${(e as Error).message.split('\n')[0]}); it is an optional dependency: npm i -E node-llama-cpp@3.21.1, or use --backend openai`);
    }
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath });
    } catch (e) {
      throw new CliError(`--model ${options.modelPath}: llama.cpp could not load it (${(e as Error).message.split('\n')[0]})`);
    }
    const arch = model.fileInfo.metadata.general.architecture as string;
    const archMeta = (model.fileInfo.metadata as unknown as Record<string, { pooling_type?: number } | undefined>)[arch];
    const pooling = archMeta?.pooling_type;
    if (pooling !== undefined && pooling !== 0 && pooling !== 3) {
      await model.dispose();
      throw new CliError(`--model ${options.modelPath}: its GGUF declares ${arch}.pooling_type=${pooling} (${POOLING_NAMES[pooling] ?? 'unknown'}); LEADER's teacher feature is the last token's hidden state, use a model with pooling none or last`);
    }
    if (model.fileInsights.hasEncoder) {
      await model.dispose();
      throw new CliError(`--model ${options.modelPath}: an encoder model; LEADER's teacher is a decoder LLM`);
    }
    const maxTokens = options.maxTokens ?? 2048;
    const addsBos = model.tokens.shouldPrependBosToken;
    // The context holds BOS (if any) + prompt + EOS, and node-llama-cpp wants one spare slot.
    const contextSize = Math.min(model.trainContextSize, maxTokens + 1 + (addsBos ? 1 : 0));
    const maxPromptTokens = contextSize - 2 - (addsBos ? 1 : 0);
    if (model.tokens.eos == null) {
      await model.dispose();
      throw new CliError(`--model ${options.modelPath}: the tokenizer has no EOS token, which LEADER pools`);
    }
    const context = await model.createEmbeddingContext({ threads: options.threads, contextSize });
    return new LlamaCppBackend(options.modelPath, model, context, maxPromptTokens, model.embeddingVectorSize, options.threads, addsBos);
  }

  async modelHash(): Promise<string> {
    this.hash ??= await sha256File(this.model);
    return this.hash;
  }

  /** Total weights in the GGUF (sum of tensor element counts), for the bench's side-by-side. */
  get parameterCount(): number {
    let total = 0;
    for (const t of this.llamaModel.fileInfo.tensorInfo ?? []) total += t.dimensions.reduce<number>((a, d) => a * Number(d), 1);
    return total;
  }

  async embed(prompts: string[]): Promise<Float32Array[]> {
    const eos = this.llamaModel.tokens.eos!;
    const out: Float32Array[] = [];
    // One sequence at a time: llama.cpp parallelises inside a sequence over `threads`.
    for (const prompt of prompts) {
      let tokens = this.llamaModel.tokenize(prompt, false);
      if (tokens.length > this.maxPromptTokens) {
        tokens = tokens.slice(0, this.maxPromptTokens);
        this.truncated++;
      }
      const embedding = await this.context.getEmbeddingFor([...tokens, eos]);
      out.push(Float32Array.from(embedding.vector));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.llamaModel.dispose();
  }
}

/**
 * A tiny random-weight llama-architecture GGUF (v3, all tensors F32) for tests and the bench: no
 * real LLM weights can be downloaded here (toolchain.md §5), but node-llama-cpp loads this file and
 * runs the real llama.cpp forward pass over it, so the teacher backend is exercised end to end.
 *
 * Vocabulary: SentencePiece ("llama") with byte fallback: <unk>, <s>, </s>, the 256 byte tokens
 * <0x00>..<0xFF>, then `vocab` pieces (default: ▁, a-z, 0-9 and a few punctuation marks). Any
 * UTF-8 text tokenizes (unknown characters fall back to bytes).
 * Weights come from a seeded PRNG, so the same options give a byte-identical file.
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../../src/common/random';

export interface TinyGgufOptions {
  seed?: number;
  layers?: number;
  dim?: number;
  /** Extra SPM pieces after the control and byte tokens. */
  vocab?: string[];
  heads?: number;
  ffn?: number;
  contextLength?: number;
  /** llama.cpp pooling type written as `llama.pooling_type` (0 none, 1 mean, 2 cls, 3 last); omitted when undefined. */
  poolingType?: number;
  /** LEADER encodes prompts without BOS and appends EOS (leader.md §2); the defaults say so in the metadata. */
  addBos?: boolean;
  addEos?: boolean;
  name?: string;
}

export interface TinyGgufInfo {
  path: string;
  dim: number;
  vocabSize: number;
  /** Sum of all tensor element counts. */
  parameters: number;
}

const DEFAULT_PIECES = ['▁', ...'abcdefghijklmnopqrstuvwxyz0123456789', ',', '.', ':', ';', '-'];

enum T { U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9 }

class ByteSink {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  pad(alignment: number): void { const n = (alignment - (this.length % alignment)) % alignment; if (n) this.push(Buffer.alloc(n)); }
  concat(): Buffer { return Buffer.concat(this.chunks); }
}


export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): TinyGgufInfo {
  const { seed = 42, layers = 2, dim = 64, heads = 4, contextLength = 512, addBos = false, addEos = true } = options;
  const ffn = options.ffn ?? dim * 2;
  const pieces = options.vocab ?? DEFAULT_PIECES;
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // unknown, control, control
  for (let b = 0; b < 256; b++) { tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  for (const p of pieces) { tokens.push(p); types.push(1); }
  const nVocab = tokens.length;

  type Kv = [string, T, unknown, T?];
  const kvs: Kv[] = [
    ['general.architecture', T.STRING, 'llama'],
    ['general.name', T.STRING, options.name ?? `tiny-llama-seed${seed}`],
    ['general.alignment', T.U32, 32],
    ['llama.context_length', T.U32, contextLength],
    ['llama.embedding_length', T.U32, dim],
    ['llama.block_count', T.U32, layers],
    ['llama.feed_forward_length', T.U32, ffn],
    ['llama.attention.head_count', T.U32, heads],
    ['llama.attention.head_count_kv', T.U32, heads],
    ['llama.attention.layer_norm_rms_epsilon', T.F32, 1e-5],
    ['llama.rope.dimension_count', T.U32, dim / heads],
    ['tokenizer.ggml.model', T.STRING, 'llama'],
    ['tokenizer.ggml.tokens', T.ARRAY, tokens, T.STRING],
    // SPM merges prefer higher scores; longer pieces first keeps tokenization stable.
    ['tokenizer.ggml.scores', T.ARRAY, tokens.map((t, i) => (i < 259 ? 0 : -i)), T.F32],
    ['tokenizer.ggml.token_type', T.ARRAY, types, T.I32],
    ['tokenizer.ggml.unknown_token_id', T.U32, 0],
    ['tokenizer.ggml.bos_token_id', T.U32, 1],
    ['tokenizer.ggml.eos_token_id', T.U32, 2],
    ['tokenizer.ggml.add_bos_token', T.BOOL, addBos],
    ['tokenizer.ggml.add_eos_token', T.BOOL, addEos],
  ];
  if (options.poolingType !== undefined) kvs.push(['llama.pooling_type', T.U32, options.poolingType]);

  // GGUF lists dims fastest-varying first: a [rows, cols] matrix is written as ne = [cols, rows].
  const tensors: [string, number[], number][] = [['token_embd.weight', [dim, nVocab], 0.5]];
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      [`${p}attn_norm.weight`, [dim], -1], [`${p}attn_q.weight`, [dim, dim], 0.2], [`${p}attn_k.weight`, [dim, dim], 0.2],
      [`${p}attn_v.weight`, [dim, dim], 0.2], [`${p}attn_output.weight`, [dim, dim], 0.2], [`${p}ffn_norm.weight`, [dim], -1],
      [`${p}ffn_gate.weight`, [dim, ffn], 0.2], [`${p}ffn_up.weight`, [dim, ffn], 0.2], [`${p}ffn_down.weight`, [ffn, dim], 0.2],
    );
  }
  tensors.push(['output_norm.weight', [dim], -1], ['output.weight', [dim, nVocab], 0.2]);

  const head = new ByteSink();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(kvs.length);
  const writeValue = (type: T, v: unknown) => {
    if (type === T.U32) head.u32(v as number);
    else if (type === T.I32) head.i32(v as number);
    else if (type === T.F32) head.f32(v as number);
    else if (type === T.BOOL) head.push(Buffer.from([v ? 1 : 0]));
    else if (type === T.STRING) head.str(v as string);
  };
  for (const [key, type, value, elem] of kvs) {
    head.str(key);
    head.u32(type);
    if (type === T.ARRAY) {
      const arr = value as unknown[];
      head.u32(elem!);
      head.u64(arr.length);
      for (const x of arr) writeValue(elem!, x);
    } else writeValue(type, value);
  }
  const rand = mulberry32(seed);
  const data = new ByteSink();
  let parameters = 0;
  for (const [name, ne, scale] of tensors) {
    const count = ne.reduce((a, b) => a * b, 1);
    parameters += count;
    data.pad(32);
    head.str(name);
    head.u32(ne.length);
    for (const d of ne) head.u64(d);
    head.u32(0); // GGML_TYPE_F32
    head.u64(data.length);
    const values = new Float32Array(count);
    // Norm weights near 1 (scale -1), matrices uniform in ±scale/sqrt(fan-in) so activations stay finite.
    for (let i = 0; i < count; i++) values[i] = scale < 0 ? 1 + 0.1 * (rand() - 0.5) : (rand() * 2 - 1) * scale * (8 / Math.sqrt(ne[0]));
    data.push(Buffer.from(values.buffer));
  }
  head.pad(32);
  writeFileSync(path, Buffer.concat([head.concat(), data.concat()]));
  return { path, dim, vocabSize: nVocab, parameters };
}

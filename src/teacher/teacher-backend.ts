/**
 * A teacher backend turns LEADER teacher prompts into feature vectors: the LLM's hidden state of the
 * prompt's final token (EOS appended) after the final norm, the feature LEADER distils into the
 * student (leader.md §3, §7.13). Only `leader teacher` and the bench load backends; the service never does.
 */
export interface TeacherBackend {
  /** `llama-cpp` or `openai`; stored in the feature cache index. */
  readonly name: string;
  /** What the user named: a GGUF path or a served model name. */
  readonly model: string;
  /** Feature dimension once known (after `modelHash()` or the first `embed`). */
  readonly dim?: number;
  /** One line on how the vector is pooled, stored in the cache index. */
  readonly pooling: string;
  /** Identity of the weights, so a cache computed with other weights is refused, not mixed in. */
  modelHash(): Promise<string>;
  /** One vector per prompt, in order. */
  embed(prompts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

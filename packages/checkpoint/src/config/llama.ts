/**
 * The Llama config (`model_type: "llama"`): every field of transformers 5.17's `LlamaConfig` with
 * its defaults, parsed with type and head-count checks. The converter reads Llama checkpoints
 * described by it.
 */
import { ConfigError } from '../errors.js';
import { checkAttentionHeads, readCommon } from './common.js';
import type { ConfigCommon } from './common.js';
import { bool, int, nullable, num, readFields, str, tokenIds } from './fields.js';
import type { Check } from './fields.js';
import { readRopeParameters } from './rope.js';
import type { RopeParameters } from './rope.js';

/**
 * A parsed Llama `config.json`, with transformers' field names and 5.17 defaults noted per field;
 * `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers` and `num_attention_heads`
 * are required. Resolved as transformers does: `num_key_value_heads` (null → H), `head_dim`
 * (null → d / H), `rope_parameters`.
 */
export interface LlamaConfig extends ConfigCommon {
  /** Always `"llama"`. */
  model_type: 'llama';
  /** V (required). */
  vocab_size: number;
  /** d (required). */
  hidden_size: number;
  /** f (required). */
  intermediate_size: number;
  /** Number of layers (required). */
  num_hidden_layers: number;
  /** H (required). */
  num_attention_heads: number;
  /** Hkv (default null → H). */
  num_key_value_heads: number;
  /** MLP activation (default `"silu"`). */
  hidden_act: string;
  /** Longest position (default 2048). */
  max_position_embeddings: number;
  /** std of the normal initialiser (default 0.02). */
  initializer_range: number;
  /** RMSNorm ε (default 1e-6). */
  rms_norm_eps: number;
  /** Whether generation caches (default true). */
  use_cache: boolean;
  /** Padding token (default null). */
  pad_token_id: number | null;
  /** Beginning-of-sequence token (default 1). */
  bos_token_id: number | null;
  /** End-of-sequence token(s) (default 2). */
  eos_token_id: number | number[] | null;
  /** Tensor-parallel degree used in pretraining (default 1). */
  pretraining_tp: number | null;
  /** lm_head shares `model.embed_tokens.weight` (default false). */
  tie_word_embeddings: boolean;
  /** RoPE settings, normalised (default `{rope_type: "default", rope_theta: 10000}`). */
  rope_parameters: RopeParameters;
  /** q/k/v/o projections have biases (default false). */
  attention_bias: boolean;
  /** Attention dropout probability (default 0). */
  attention_dropout: number;
  /** MLP projections have biases (default false). */
  mlp_bias: boolean;
  /** hd (default null → d / H). */
  head_dim: number;
}

type Raw = Omit<LlamaConfig, keyof ConfigCommon | 'model_type' | 'rope_parameters' | 'num_key_value_heads' | 'head_dim'> & {
  num_key_value_heads: number | null;
  head_dim: number | null;
};

const anyInt = int(Number.MIN_SAFE_INTEGER);

const FIELDS: { [K in keyof Raw]: readonly [Check, Raw[K] | undefined] } = {
  vocab_size: [int(1), undefined],
  hidden_size: [int(1), undefined],
  intermediate_size: [int(1), undefined],
  num_hidden_layers: [int(1), undefined],
  num_attention_heads: [int(1), undefined],
  num_key_value_heads: [nullable(int(1)), null],
  hidden_act: [str, 'silu'],
  max_position_embeddings: [int(1), 2048],
  initializer_range: [num('non-negative'), 0.02],
  rms_norm_eps: [num('positive'), 1e-6],
  use_cache: [bool, true],
  pad_token_id: [nullable(anyInt), null],
  bos_token_id: [nullable(anyInt), 1],
  eos_token_id: [tokenIds, 2],
  pretraining_tp: [nullable(int(1)), 1],
  tie_word_embeddings: [bool, false],
  attention_bias: [bool, false],
  attention_dropout: [num('non-negative'), 0],
  mlp_bias: [bool, false],
  head_dim: [nullable(int(1)), null],
};

const KNOWN = new Set(Object.keys(FIELDS));

/**
 * Parse a Llama config object (already JSON-decoded; `model_type` is not checked here).
 * @internal Use {@link parseConfig}.
 * @throws ConfigError listing every problem
 */
export function readLlamaConfig(json: Readonly<Record<string, unknown>>, source?: string): LlamaConfig {
  const problems: string[] = [];
  const common = readCommon(json, KNOWN, problems);
  const raw = readFields<Raw>(json, FIELDS, problems);
  const rope = readRopeParameters(json, problems, raw.max_position_embeddings);
  const kv = raw.num_key_value_heads ?? raw.num_attention_heads;
  checkAttentionHeads({ ...raw, num_key_value_heads: kv }, problems);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return {
    ...common,
    model_type: 'llama',
    ...raw,
    num_key_value_heads: kv,
    head_dim: raw.head_dim ?? Math.floor(raw.hidden_size / raw.num_attention_heads),
    rope_parameters: rope,
  };
}

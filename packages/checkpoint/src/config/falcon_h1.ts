/**
 * The Falcon-H1 config (`model_type: "falcon_h1"`): every field of transformers 5.17's
 * `FalconH1Config` with its defaults, parsing with type and architecture checks, and the derived
 * sizes (`d_ssm`, `conv_dim`, the `in_proj` width) the spec's parameter table uses.
 */
import { ConfigError } from '../errors.js';
import { allPositiveInts, checkAttentionHeads, readCommon } from './common.js';
import type { ConfigCommon } from './common.js';
import { bool, int, nullable, num, numbers, readFields, str, tokenIds } from './fields.js';
import type { Check } from './fields.js';
import { readRopeParameters } from './rope.js';
import type { RopeParameters } from './rope.js';

/**
 * A parsed Falcon-H1 `config.json`, with transformers' field names. Defaults (transformers 5.17) are
 * noted per field; `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers` and
 * `num_attention_heads` are required. Resolved as transformers does on load: `num_key_value_heads`
 * (null → `num_attention_heads`), `mamba_d_head` (`"auto"` → d_ssm / `mamba_n_heads`),
 * `mlp_multipliers` and `ssm_multipliers` (null → all 1), `rope_parameters` (see {@link RopeParameters}).
 * Use {@link falconH1Dims} for the derived sizes.
 */
export interface FalconH1Config extends ConfigCommon {
  /** Always `"falcon_h1"`. */
  model_type: 'falcon_h1';
  /** V, vocabulary size (required). */
  vocab_size: number;
  /** lm_head shares `model.embed_tokens.weight` (default false). */
  tie_word_embeddings: boolean;
  /** d, hidden size (required). */
  hidden_size: number;
  /** f, MLP intermediate size (required). */
  intermediate_size: number;
  /** Number of layers (required). */
  num_hidden_layers: number;
  /** H, attention heads (required). */
  num_attention_heads: number;
  /** Hkv, key/value heads (default 8; null → H). */
  num_key_value_heads: number;
  /** hd, attention head dim; null (absent) means d / H. Not a FalconH1Config field, but transformers reads it when present. */
  head_dim: number | null;
  /** MLP activation (default `"silu"`). */
  hidden_act: string;
  /** std of the normal initialiser (default 0.02). */
  initializer_range: number;
  /** RMSNorm ε (default 1e-5). */
  rms_norm_eps: number;
  /** Whether generation caches (default true). */
  use_cache: boolean;
  /** Logits kept during generation (default 1; null = all). */
  num_logits_to_keep: number | null;
  /** Padding token (default 0). */
  pad_token_id: number | null;
  /** Beginning-of-sequence token (default 1). */
  bos_token_id: number | null;
  /** End-of-sequence token(s) (default 2). */
  eos_token_id: number | number[] | null;
  /** Longest position RoPE is set up for (default 8192). */
  max_position_embeddings: number;
  /** Attention dropout probability (default 0). */
  attention_dropout: number;
  /** d_ssm, the Mamba inner width (default 1024; null → `mamba_expand · hidden_size`). */
  mamba_d_ssm: number | null;
  /** h, Mamba heads (default 128). */
  mamba_n_heads: number;
  /** p, Mamba head dim (default `"auto"` → d_ssm / h, resolved on parse). */
  mamba_d_head: number;
  /** g, Mamba groups for B and C (default 1). */
  mamba_n_groups: number;
  /** n, SSM state size (default 256). */
  mamba_d_state: number;
  /** k, causal conv kernel width (default 4). */
  mamba_d_conv: number;
  /** Expansion used when `mamba_d_ssm` is null (default 2). */
  mamba_expand: number;
  /** Q, SSD chunk size (default {@link FALCON_H1_MAMBA_CHUNK_SIZE}, 256). */
  mamba_chunk_size: number;
  /** conv1d has a bias (default true). */
  mamba_conv_bias: boolean;
  /** in_proj has a bias (default false). */
  mamba_proj_bias: boolean;
  /** Gated RMSNorm normalises before gating (default true). */
  mamba_norm_before_gate: boolean;
  /** The mixer has a gated RMSNorm `mamba.norm` (default false). */
  mamba_rms_norm: boolean;
  /** Clamp of Δ after softplus (default `[0, Infinity]`, i.e. none). */
  time_step_limit: [number, number] | null;
  /** Mamba out_proj has a bias (default false). */
  projectors_bias: boolean;
  /** RoPE settings, normalised (default `{rope_type: "default", rope_theta: 10000}`). */
  rope_parameters: RopeParameters;
  /** μP: logits multiplier (default 1). */
  lm_head_multiplier: number;
  /** μP: embeddings multiplier (default 1). */
  embedding_multiplier: number;
  /** μP: [gate input, down output] multipliers (default [1, 1]). */
  mlp_multipliers: [number, number];
  /** μP: keys multiplier (default 1). */
  key_multiplier: number;
  /** μP: attention output multiplier (default 1). */
  attention_out_multiplier: number;
  /** μP: attention input multiplier (default 1). */
  attention_in_multiplier: number;
  /** μP: multipliers of the z, x, B, C, dt segments of in_proj's output (default all 1). */
  ssm_multipliers: [number, number, number, number, number];
  /** μP: Mamba input multiplier (default 1). */
  ssm_in_multiplier: number;
  /** μP: Mamba output multiplier (default 1). */
  ssm_out_multiplier: number;
  /** q/k/v/o projections have biases (default false). */
  attention_bias: boolean;
  /** MLP projections have biases (default false). */
  mlp_bias: boolean;
}

const anyInt = int(Number.MIN_SAFE_INTEGER);
const multiplier = num();
const timeStepLimit: Check = (v) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && !Number.isNaN(x)) ? undefined : 'a pair of numbers [min, max] (max may be Infinity)';
const dHead: Check = (v) => (v === 'auto' || (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) ? undefined : 'a positive integer or "auto"');

/**
 * The default SSD chunk size Q of a Falcon-H1 config (`mamba_chunk_size`), as transformers'
 * `FalconH1Config`. The one default every package uses: `@falcon/mamba2`'s ops and mixer, and
 * `@falcon/hybrid`'s converters.
 */
export const FALCON_H1_MAMBA_CHUNK_SIZE = 256;

type Raw = Omit<FalconH1Config, keyof ConfigCommon | 'model_type' | 'rope_parameters' | 'num_key_value_heads' | 'mamba_d_head' | 'mlp_multipliers' | 'ssm_multipliers'> & {
  num_key_value_heads: number | null;
  mamba_d_head: number | 'auto';
  mlp_multipliers: [number, number] | null;
  ssm_multipliers: [number, number, number, number, number] | null;
};

const FIELDS: { [K in keyof Raw]: readonly [Check, Raw[K] | undefined] } = {
  vocab_size: [int(1), undefined],
  tie_word_embeddings: [bool, false],
  hidden_size: [int(1), undefined],
  intermediate_size: [int(1), undefined],
  num_hidden_layers: [int(1), undefined],
  num_attention_heads: [int(1), undefined],
  num_key_value_heads: [nullable(int(1)), 8],
  head_dim: [nullable(int(1)), null],
  hidden_act: [str, 'silu'],
  initializer_range: [num('non-negative'), 0.02],
  rms_norm_eps: [num('positive'), 1e-5],
  use_cache: [bool, true],
  num_logits_to_keep: [nullable(int(0)), 1],
  pad_token_id: [nullable(anyInt), 0],
  bos_token_id: [nullable(anyInt), 1],
  eos_token_id: [tokenIds, 2],
  max_position_embeddings: [int(1), 8192],
  attention_dropout: [num('non-negative'), 0],
  mamba_d_ssm: [nullable(int(1)), 1024],
  mamba_n_heads: [int(1), 128],
  mamba_d_head: [dHead, 'auto'],
  mamba_n_groups: [int(1), 1],
  mamba_d_state: [int(1), 256],
  mamba_d_conv: [int(1), 4],
  mamba_expand: [int(1), 2],
  mamba_chunk_size: [int(1), FALCON_H1_MAMBA_CHUNK_SIZE],
  mamba_conv_bias: [bool, true],
  mamba_proj_bias: [bool, false],
  mamba_norm_before_gate: [bool, true],
  mamba_rms_norm: [bool, false],
  time_step_limit: [nullable(timeStepLimit), [0, Infinity]],
  projectors_bias: [bool, false],
  lm_head_multiplier: [multiplier, 1],
  embedding_multiplier: [multiplier, 1],
  mlp_multipliers: [nullable(numbers(2)), null],
  key_multiplier: [multiplier, 1],
  attention_out_multiplier: [multiplier, 1],
  attention_in_multiplier: [multiplier, 1],
  ssm_multipliers: [nullable(numbers(5)), null],
  ssm_in_multiplier: [multiplier, 1],
  ssm_out_multiplier: [multiplier, 1],
  attention_bias: [bool, false],
  mlp_bias: [bool, false],
};

const KNOWN = new Set(Object.keys(FIELDS));

/**
 * Parse a Falcon-H1 config object (already JSON-decoded; `model_type` is not checked here).
 * @internal Use {@link parseConfig}.
 * @throws ConfigError listing every problem
 */
export function readFalconH1Config(json: Readonly<Record<string, unknown>>, source?: string): FalconH1Config {
  const problems: string[] = [];
  const common = readCommon(json, KNOWN, problems);
  const raw = readFields<Raw>(json, FIELDS, problems);
  const rope = readRopeParameters(json, problems, raw.max_position_embeddings);

  const kv = raw.num_key_value_heads ?? raw.num_attention_heads;
  checkAttentionHeads({ ...raw, num_key_value_heads: kv }, problems);
  const dSsm = raw.mamba_d_ssm ?? raw.mamba_expand * raw.hidden_size;
  const h = raw.mamba_n_heads;
  let p = raw.mamba_d_head;
  if (allPositiveInts(dSsm, h)) {
    if (p === 'auto') {
      if (dSsm % h !== 0) problems.push(`mamba_n_heads (${h}) does not divide d_ssm (${dSsm}), so mamba_d_head "auto" has no value`);
      p = Math.floor(dSsm / h);
    } else if (allPositiveInts(p) && p * h !== dSsm) {
      problems.push(`mamba_d_head (${p}) × mamba_n_heads (${h}) = ${p * h}, but d_ssm is ${dSsm}${raw.mamba_d_ssm === null ? ' (mamba_expand × hidden_size)' : ''}`);
    }
  }
  if (allPositiveInts(h, raw.mamba_n_groups) && h % raw.mamba_n_groups !== 0) {
    problems.push(`mamba_n_heads (${h}) is not a multiple of mamba_n_groups (${raw.mamba_n_groups})`);
  }
  const limit = raw.time_step_limit;
  if (Array.isArray(limit) && !(limit[0] >= 0 && limit[0] <= limit[1])) problems.push(`time_step_limit [${limit.join(', ')}] must satisfy 0 ≤ min ≤ max`);
  if (problems.length > 0) throw new ConfigError(problems, source);

  return {
    ...common,
    model_type: 'falcon_h1',
    ...raw,
    num_key_value_heads: kv,
    mamba_d_head: p as number,
    mlp_multipliers: raw.mlp_multipliers ? [...raw.mlp_multipliers] : [1, 1],
    ssm_multipliers: raw.ssm_multipliers ? [...raw.ssm_multipliers] : [1, 1, 1, 1, 1],
    time_step_limit: limit ? [limit[0], limit[1]] : null,
    rope_parameters: rope,
  };
}

/** The sizes a Falcon-H1 config implies (spec notation in brackets). */
export interface FalconH1Dims {
  /** [d] hidden size. */
  hidden_size: number;
  /** [H] attention heads. */
  num_attention_heads: number;
  /** [Hkv] key/value heads. */
  num_key_value_heads: number;
  /** [hd] attention head dim: `head_dim`, else d / H. */
  head_dim: number;
  /** [d_ssm] Mamba inner width: `mamba_d_ssm`, else `mamba_expand · d`; = h · p. */
  d_ssm: number;
  /** [h] Mamba heads. */
  mamba_n_heads: number;
  /** [p] Mamba head dim. */
  mamba_d_head: number;
  /** [g] groups. */
  mamba_n_groups: number;
  /** [n] state size. */
  mamba_d_state: number;
  /** conv channels: d_ssm + 2·g·n. */
  conv_dim: number;
  /** in_proj output width: d_ssm + conv_dim + h (z, xBC, dt). */
  in_proj_dim: number;
}

/** d_ssm of a Falcon-H1 config: `mamba_d_ssm`, or `mamba_expand · hidden_size` when null. @param c - a parsed config */
export function mambaDSsm(c: FalconH1Config): number {
  return c.mamba_d_ssm ?? c.mamba_expand * c.hidden_size;
}

/** The derived sizes of a Falcon-H1 config (d_ssm, conv_dim, in_proj width, head dims). @param c - a parsed config */
export function falconH1Dims(c: FalconH1Config): FalconH1Dims {
  const dSsm = mambaDSsm(c);
  const convDim = dSsm + 2 * c.mamba_n_groups * c.mamba_d_state;
  return {
    hidden_size: c.hidden_size,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    head_dim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    d_ssm: dSsm,
    mamba_n_heads: c.mamba_n_heads,
    mamba_d_head: c.mamba_d_head,
    mamba_n_groups: c.mamba_n_groups,
    mamba_d_state: c.mamba_d_state,
    conv_dim: convDim,
    in_proj_dim: dSsm + convDim + c.mamba_n_heads,
  };
}

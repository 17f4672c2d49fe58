/**
 * Fields every Hugging Face config shares (`architectures`, `dtype`, `transformers_version`), the
 * keys a model's table does not know (kept in `extra` so a config round-trips), and the
 * divisibility checks both model types use.
 */
import { nullable, show, str, strings } from './fields.js';

/** Fields common to every config, and the keys this package does not interpret. */
export interface ConfigCommon {
  /** Model classes the checkpoint was saved from, e.g. `["FalconH1ForCausalLM"]`. */
  architectures?: string[];
  /** Parameter dtype as saved (`"float32"`, `"bfloat16"`); older configs call it `torch_dtype`. */
  dtype?: string | null;
  /** transformers version that wrote the config. */
  transformers_version?: string;
  /** Every key of the JSON this package does not interpret (written back unchanged by `configToJson`). */
  extra: Record<string, unknown>;
}

/** Read the common fields and collect the keys no table claims into `extra`. @internal */
export function readCommon(json: Readonly<Record<string, unknown>>, known: ReadonlySet<string>, problems: string[]): ConfigCommon {
  const src: Record<string, unknown> = { ...json };
  if (src.dtype === undefined && src.torch_dtype !== undefined) src.dtype = src.torch_dtype;
  const checks = { architectures: strings, dtype: nullable(str), transformers_version: str } as const;
  const out: ConfigCommon = { extra: {} };
  for (const k of ['architectures', 'dtype', 'transformers_version'] as const) {
    const v = src[k];
    if (v === undefined) continue;
    const e = checks[k](v);
    if (e !== undefined) problems.push(`${k}: expected ${e}, got ${show(v)}`);
    else (out as unknown as Record<string, unknown>)[k] = v;
  }
  const consumed = new Set([...known, 'model_type', 'architectures', 'dtype', 'torch_dtype', 'transformers_version', 'rope_parameters', 'rope_scaling', 'rope_theta']);
  for (const k of Object.keys(json)) if (!consumed.has(k) && k !== 'extra') out.extra[k] = json[k];
  // A config object this package produced (re-parsed after an edit) carries its unknown keys in `extra`.
  const carried = json.extra;
  if (typeof carried === 'object' && carried !== null && !Array.isArray(carried)) {
    for (const [k, v] of Object.entries(carried)) if (!(k in out.extra) && !consumed.has(k)) out.extra[k] = v;
  } else if (carried !== undefined) {
    out.extra.extra = carried;
  }
  return out;
}

/** Whether every argument is a positive safe integer (cross-field checks run only then). @internal */
export function allPositiveInts(...xs: unknown[]): boolean {
  return xs.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x > 0);
}

/**
 * The attention checks both model types share: hidden_size divisible by num_attention_heads when
 * head_dim is absent, num_attention_heads divisible by num_key_value_heads, an even head_dim (RoPE
 * rotates halves). @internal
 */
export function checkAttentionHeads(
  c: { hidden_size: number; num_attention_heads: number; num_key_value_heads: number | null; head_dim: number | null },
  problems: string[],
): void {
  const { hidden_size: d, num_attention_heads: h, num_key_value_heads: kv, head_dim: hd } = c;
  if ((hd === null || hd === undefined) && allPositiveInts(d, h) && d % h !== 0) {
    problems.push(`hidden_size (${d}) is not a multiple of num_attention_heads (${h}), and no head_dim is given`);
  }
  if (kv !== null && allPositiveInts(h, kv) && h % kv !== 0) {
    problems.push(`num_attention_heads (${h}) is not a multiple of num_key_value_heads (${kv})`);
  }
  const headDim = hd ?? (allPositiveInts(d, h) && d % h === 0 ? d / h : undefined);
  if (headDim !== undefined && allPositiveInts(headDim) && headDim % 2 !== 0) {
    problems.push(`head_dim (${headDim}) must be even: RoPE rotates the two halves of each head`);
  }
}

/**
 * Entry points for Hugging Face configs: `parseConfig` (JSON text or object → a typed, validated
 * {@link FalconH1Config} or {@link LlamaConfig}, chosen by `model_type`), `configToJson` (back to
 * transformers' JSON form) and `headDim`. No Node APIs.
 */
import { ConfigError } from '../errors.js';
import { readFalconH1Config } from './falcon_h1.js';
import type { FalconH1Config } from './falcon_h1.js';
import { show } from './fields.js';
import { decodeFloats, parseConfigJson, stringifyConfig } from './json.js';
import { readLlamaConfig } from './llama.js';
import type { LlamaConfig } from './llama.js';

/** Model types this package parses. */
export const SUPPORTED_MODEL_TYPES = ['falcon_h1', 'llama'] as const;

/** A parsed config of any supported model type; `model_type` tells which. */
export type HFConfig = FalconH1Config | LlamaConfig;

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** Where the config came from (a path), for error messages. */
  source?: string;
}

/**
 * Parse and validate a Hugging Face `config.json` of a supported model type. Absent fields get
 * transformers 5.17's defaults; legacy `rope_theta`/`rope_scaling` are moved into `rope_parameters`;
 * `Infinity` (bare or as `{"__float__": "Infinity"}`, in the text or in an object) is read as a number.
 * @param input - the JSON text, or the already-parsed object (also a config this package parsed,
 *   e.g. `{ ...config, num_hidden_layers: 4 }` to re-validate an edit; its `extra` keys are kept)
 * @returns a {@link FalconH1Config} or {@link LlamaConfig}
 * @throws ConfigError listing every problem: invalid JSON, unknown `model_type`, missing required
 *   fields, wrong types, head counts that do not divide
 */
export function parseConfig(input: string | object, options: ParseConfigOptions = {}): HFConfig {
  const { source } = options;
  const json = typeof input === 'string' ? parseConfigJson(input, source) : decodeFloats(input);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError([`expected a JSON object, got ${show(json)}`], source);
  const obj = json as Record<string, unknown>;
  const type = obj.model_type;
  if (type === 'falcon_h1') return readFalconH1Config(obj, source);
  if (type === 'llama') return readLlamaConfig(obj, source);
  throw new ConfigError(
    [type === undefined ? `model_type is missing (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})` : `unknown model_type ${show(type)} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`],
    source,
  );
}

/**
 * Serialise a config as transformers writes `config.json`: every field (including defaults and
 * the keys kept in `extra`), keys sorted, 2-space indent, final newline, non-finite floats as
 * `{"__float__": "Infinity"}`. `parseConfig(configToJson(c))` equals `c`. A Falcon-H1 `head_dim` of
 * null is left out.
 * @param config - a parsed config
 */
export function configToJson(config: HFConfig): string {
  const { extra, ...fields } = config;
  const out: Record<string, unknown> = { ...extra, ...fields };
  if (config.model_type === 'falcon_h1' && config.head_dim === null) delete out.head_dim;
  return stringifyConfig(out, (path) => FLOAT_FIELDS.has(path[0]) || (path[0] === 'rope_parameters' && ROPE_FLOAT_FIELDS.has(path[1])));
}

/** Fields transformers declares as float (or lists of floats) in FalconH1Config and LlamaConfig. */
const FLOAT_FIELDS = new Set([
  'initializer_range',
  'rms_norm_eps',
  'attention_dropout',
  'time_step_limit',
  'lm_head_multiplier',
  'embedding_multiplier',
  'mlp_multipliers',
  'key_multiplier',
  'attention_out_multiplier',
  'attention_in_multiplier',
  'ssm_multipliers',
  'ssm_in_multiplier',
  'ssm_out_multiplier',
]);

/** Float entries of rope_parameters. */
const ROPE_FLOAT_FIELDS = new Set([
  'rope_theta',
  'factor',
  'attention_factor',
  'beta_fast',
  'beta_slow',
  'low_freq_factor',
  'high_freq_factor',
  'mscale',
  'mscale_all_dim',
  'short_factor',
  'long_factor',
  'partial_rotary_factor',
]);

/** hd, the attention head dim: `head_dim`, else `hidden_size / num_attention_heads`. @param config - a parsed config */
export function headDim(config: HFConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}

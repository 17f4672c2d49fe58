/**
 * RoPE settings of a config, normalised to transformers 5's `rope_parameters`
 * (`{rope_type, rope_theta, ...}`): older configs put `rope_theta` (and `rope_scaling`, with `type` or
 * `rope_type`) at the top level, and those are moved in, as transformers 5 does on load.
 */
import { show } from './fields.js';

/** RoPE types transformers knows (`ROPE_INIT_FUNCTIONS` plus `default`). */
export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3'] as const;

/**
 * `rope_parameters` as transformers 5 stores it. `rope_theta` is the base θ (`inv_freq_j = θ^(−2j/hd)`);
 * the other fields belong to the scaled types (linear/dynamic/yarn: `factor`; llama3: `factor`,
 * `low_freq_factor`, `high_freq_factor`, `original_max_position_embeddings`; longrope: `short_factor`,
 * `long_factor`). Unknown keys are kept.
 */
export interface RopeParameters {
  /** One of {@link ROPE_TYPES}. */
  rope_type: string;
  /** Base θ (10000 by default; Falcon-H1 uses about 1e11). */
  rope_theta: number;
  /** Scaling factor (linear, dynamic, yarn, llama3, longrope). */
  factor?: number;
  /** Context length the model was trained at (yarn, llama3, longrope). */
  original_max_position_embeddings?: number;
  /** llama3: low-frequency factor. */
  low_freq_factor?: number;
  /** llama3: high-frequency factor. */
  high_freq_factor?: number;
  /** yarn / longrope: attention scaling. */
  attention_factor?: number;
  /** yarn: fast rotation boundary (default 32). */
  beta_fast?: number;
  /** yarn: slow rotation boundary (default 1). */
  beta_slow?: number;
  /** longrope: per-frequency factors for short contexts. */
  short_factor?: number[];
  /** longrope: per-frequency factors for long contexts. */
  long_factor?: number[];
  /** Fraction of the head dimension that is rotated. */
  partial_rotary_factor?: number;
  /** Any other key the config holds. */
  [key: string]: unknown;
}

const REQUIRED: Record<string, string[]> = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor'],
  yarn: ['factor'],
  longrope: ['short_factor', 'long_factor'],
  llama3: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
};

/**
 * Build `rope_parameters` from a config object: `rope_scaling` (legacy) or `rope_parameters`, with
 * `rope_theta` taken from inside, else from the top level, else `defaultTheta`; `type` becomes
 * `rope_type` (default `'default'`); for llama3, yarn and longrope, `original_max_position_embeddings`
 * from the top level, else `max_position_embeddings`, as transformers 5.17 does. Problems are
 * appended to `problems`. @internal
 * @param json - the whole config object
 * @param problems - collects problems
 * @param maxPositions - the config's `max_position_embeddings`
 * @param defaultTheta - θ when none is given (transformers: 10000)
 */
export function readRopeParameters(json: Readonly<Record<string, unknown>>, problems: string[], maxPositions: unknown, defaultTheta = 10000): RopeParameters {
  const scaling = json.rope_scaling;
  const params = json.rope_parameters;
  let source: unknown = scaling !== undefined && scaling !== null && !(typeof scaling === 'object' && Object.keys(scaling).length === 0) ? scaling : params;
  const sourceName = source === scaling ? 'rope_scaling' : 'rope_parameters';
  if (source === undefined || source === null) source = {};
  if (typeof source !== 'object' || Array.isArray(source)) {
    problems.push(`${sourceName}: expected an object, got ${show(source)}`);
    source = {};
  }
  const rope: Record<string, unknown> = { ...(source as Record<string, unknown>) };
  if (rope.rope_theta === undefined) rope.rope_theta = json.rope_theta ?? defaultTheta;
  if (rope.rope_type === undefined) rope.rope_type = rope.type ?? 'default';
  delete rope.type;
  if (rope.partial_rotary_factor === undefined && typeof json.partial_rotary_factor === 'number') rope.partial_rotary_factor = json.partial_rotary_factor;

  if (rope.rope_type === 'llama3' || rope.rope_type === 'yarn' || rope.rope_type === 'longrope') {
    if (json.original_max_position_embeddings !== undefined) rope.original_max_position_embeddings = json.original_max_position_embeddings;
    else if (rope.original_max_position_embeddings === undefined) rope.original_max_position_embeddings = maxPositions;
  }
  const { rope_type: type, rope_theta: theta } = rope;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) problems.push(`rope_parameters.rope_theta: expected a positive number, got ${show(theta)}`);
  if (typeof type !== 'string' || !(ROPE_TYPES as readonly string[]).includes(type)) {
    problems.push(`rope_parameters.rope_type: expected one of ${ROPE_TYPES.join(', ')}, got ${show(type)}`);
  } else {
    for (const key of REQUIRED[type]) {
      if (rope[key] === undefined) problems.push(`rope_parameters.${key}: required for rope_type '${type}' but missing`);
    }
    if (rope.factor !== undefined && (typeof rope.factor !== 'number' || !(rope.factor >= 1))) {
      problems.push(`rope_parameters.factor: expected a number ≥ 1, got ${show(rope.factor)}`);
    }
  }
  return rope as RopeParameters;
}

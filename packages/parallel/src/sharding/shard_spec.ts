/**
 * How one rank's tensor is cut from a full (unsharded) parameter. Every model-parallel layout
 * (tensor, pipeline, context, data) describes its parameters with these records, and distributed
 * checkpoints store them so that a checkpoint saved under one layout loads under any other.
 *
 * A rank's local tensor is the concatenation along `axis` of the slices `ranges` of the full
 * tensor (in that order). With `axis: null` the rank holds the whole tensor (replicated).
 * Ranges of different ranks may overlap (replicated pieces, e.g. Mamba-2 groups replicated when
 * `n_groups % tp != 0`); overlapping pieces hold equal values.
 *
 * Example: Mamba-2's `in_proj.weight` `[2·d_ssm + 2·g·n + h, d_model]` under TP 2 with one group
 * (replicated): rank 0 holds `axis: 0, ranges: [[0, d_ssm/2], [d_ssm, 1.5·d_ssm], [2·d_ssm, 2·d_ssm + 2·n], …dt]`.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** One rank's piece of a full parameter (see the module comment). */
export interface ShardSpec {
  /** Shape of the full (unsharded) tensor. */
  shape: number[];
  /** Axis along which the rank's tensor is cut from the full one; `null`: the whole tensor. */
  axis: number | null;
  /** `[start, end)` ranges of the full tensor along `axis`, concatenated in this order (empty when `axis` is null). */
  ranges: Array<[number, number]>;
  /**
   * How the stored tensor encodes the values (default `'plain'`). `'ternary2'`: BitNet codes packed
   * 2 bits each; the spec then describes the unpacked matrix and re-sharding decodes, slices and re-packs.
   */
  encoding?: 'plain' | 'ternary2';
}

/** The parameters one rank holds, by Hugging Face checkpoint name. Names absent are not held (e.g. another pipeline stage's layers). */
export type ShardPlan = Record<string, ShardSpec>;

/** The whole tensor of shape `shape` (replicated on every rank that holds it). */
export function replicated(shape: number[]): ShardSpec {
  return { shape: [...shape], axis: null, ranges: [] };
}

/**
 * Validates a spec: ranges inside the axis, non-empty, axis inside the shape.
 * @throws Error naming the parameter and the problem
 */
export function checkShardSpec(name: string, spec: ShardSpec): void {
  const { shape, axis, ranges } = spec;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`shard spec of ${name}: shape must be non-negative integers, got [${shape}]`);
  if (axis === null) {
    if (ranges.length !== 0) throw new Error(`shard spec of ${name}: a replicated spec (axis null) has no ranges`);
    return;
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new Error(`shard spec of ${name}: axis ${axis} is outside a rank-${shape.length} tensor`);
  if (ranges.length === 0) throw new Error(`shard spec of ${name}: a sharded spec needs at least one range`);
  for (const [s, e] of ranges) {
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e <= s || e > shape[axis]) throw new Error(`shard spec of ${name}: range [${s}, ${e}) is not inside [0, ${shape[axis]}) on axis ${axis}`);
  }
}

/**
 * Shape of the rank's tensor.
 * @param spec - the rank's spec
 * @returns the full shape with `axis` replaced by the total length of the ranges
 */
export function localShape(spec: ShardSpec): number[] {
  if (spec.axis === null) return [...spec.shape];
  const out = [...spec.shape];
  out[spec.axis] = spec.ranges.reduce((n, [s, e]) => n + e - s, 0);
  return out;
}

/**
 * Cuts the rank's tensor from the full one.
 * @param full - the full tensor, shape `spec.shape`
 * @param spec - the rank's spec (plain encoding)
 * @returns a new tensor of shape {@link localShape}(spec)
 */
export function takeShard(full: Tensor, spec: ShardSpec): Tensor {
  if (!tf.util.arraysEqual(full.shape, spec.shape)) throw new Error(`takeShard: tensor has shape [${full.shape}], the spec expects [${spec.shape}]`);
  const axis = spec.axis;
  if (axis === null) return tf.clone(full);
  return tf.tidy(() => {
    const parts = spec.ranges.map(([s, e]) => {
      const begin = full.shape.map((_, i) => (i === axis ? s : 0));
      const size = full.shape.map((d, i) => (i === axis ? e - s : d));
      return tf.slice(full, begin, size);
    });
    return parts.length === 1 ? parts[0] : tf.concat(parts, axis);
  });
}

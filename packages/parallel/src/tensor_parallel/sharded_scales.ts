/**
 * Statistics of a tensor split across the tensor-parallel group, for layers whose math needs the
 * whole tensor's value (BitNet b1.58: the weight's mean |W| and each token's max |x| over all its
 * features), so that a sharded layer computes exactly what the unsplit one does. Neither is
 * differentiated (the straight-through estimator passes no gradient to the scales).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduceSync } from '../collectives/all_reduce.js';
import type { ProcessGroup } from '../process_group.js';

/** Options of {@link shardedMeanAbs}. */
export interface ShardedMeanAbsOptions {
  /** The tensor-parallel group (default: the world). */
  group?: ProcessGroup;
  /** Element count of the whole tensor. */
  count: number;
  /**
   * 1 / 0 per slice along axis 0 of the shard: whether this rank counts it (a slice replicated on
   * several ranks is counted by one of them); default: every slice counts.
   */
  counted?: Tensor;
}

/**
 * mean |W| of the whole tensor from every rank's shard: `Σ_ranks Σ |shard · counted| / count`.
 * @param shard - this rank's piece `[rows, ...]` (may be absent: contributes 0; every rank must call)
 * @returns `[1]`, the same on every rank
 */
export function shardedMeanAbs(shard: Tensor | undefined, opts: ShardedMeanAbsOptions): Tensor {
  return tf.tidy(() => {
    let local: Tensor = tf.zeros([1]);
    if (shard && shard.size > 0) {
      const a = tf.abs(shard);
      const w = opts.counted ? tf.reshape(opts.counted, [shard.shape[0], ...shard.shape.slice(1).map(() => 1)]) : undefined;
      local = tf.reshape(tf.sum(w ? tf.mul(a, w) : a), [1]);
    }
    return tf.div(allReduceSync(local, { group: opts.group }), opts.count);
  });
}

/**
 * max |x| over the last axis, across the features of every rank.
 * @param x - `[..., features_local]` (features_local may be 0: contributes 0)
 * @returns `[..., 1]`, the same on every rank
 */
export function shardedAbsMax(x: Tensor, opts: { group?: ProcessGroup } = {}): Tensor {
  return tf.tidy(() => {
    const shape = [...x.shape.slice(0, -1), 1];
    const local = x.shape[x.rank - 1] > 0 ? tf.max(tf.abs(x), -1, true) : tf.zeros(shape);
    return allReduceSync(local, { group: opts.group, op: 'max' });
  });
}

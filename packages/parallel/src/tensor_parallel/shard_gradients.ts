/**
 * Gradients of sharded parameters: {@link reduceShardGradient} sums the partial gradients of pieces
 * held by several ranks (replicated KV heads, replicated Mamba-2 groups, norms under sequence
 * parallelism: each rank's piece only saw part of the computation), and {@link gatherShards}
 * rebuilds the full tensor from every rank's piece (un-sharding; checkpoints, tests).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduceSync } from '../collectives/all_reduce.js';
import type { ProcessGroup } from '../process_group.js';
import type { ShardSpec } from '../sharding/shard_spec.js';
import { takeShard } from '../sharding/shard_spec.js';
import { placeShard } from '../sharding/place_shard.js';

/**
 * The gradient of this rank's piece when several ranks each computed a partial gradient of the
 * same elements: every rank's contribution placed in the full tensor, summed over the group, and
 * this rank's piece cut out again. Every rank of the group calls it for the same parameter.
 * @param grad - this rank's partial gradient, shape `localShape(spec)`
 * @param spec - this rank's spec of the parameter
 * @returns the summed gradient, shape `localShape(spec)`
 */
export function reduceShardGradient(grad: Tensor, spec: ShardSpec, opts: { group?: ProcessGroup } = {}): Tensor {
  return tf.tidy(() => takeShard(allReduceSync(placeShard(grad, spec), { group: opts.group }), spec));
}

/**
 * The full tensor from every rank's piece (pieces held by several ranks must be equal; they are
 * averaged). Every rank of the group calls it for the same parameter (a rank that does not hold it
 * passes undefined).
 * @param local - this rank's piece, or undefined
 * @param spec - this rank's spec, or undefined (then `opts.shape` is needed)
 * @param opts - `group` (default the world) and `shape`: the full shape, when this rank holds nothing
 * @returns the full tensor, the same on every rank
 * @throws when some element is held by no rank
 */
export function gatherShards(local: Tensor | undefined, spec: ShardSpec | undefined, opts: { group?: ProcessGroup; shape?: number[] } = {}): Tensor {
  const shape = spec?.shape ?? opts.shape;
  if (!shape) throw new Error('gatherShards: a rank that holds nothing must give the full shape');
  return tf.tidy(() => {
    const placed = local && spec ? placeShard(local, spec) : tf.zeros(shape);
    const covered = local && spec ? placeShard(tf.onesLike(local), spec) : tf.zeros(shape);
    const sum = allReduceSync(placed, { group: opts.group });
    const count = allReduceSync(covered, { group: opts.group });
    if (tf.min(count).dataSync()[0] < 1) throw new Error(`gatherShards: some elements of the [${shape}] tensor are held by no rank`);
    return tf.div(sum, count);
  });
}

/**
 * Shared by the differentiable communication mappings of Megatron's tensor, sequence and context
 * parallelism (`megatron/core/tensor_parallel/mappings.py`), as tfjs custom gradients so autodiff
 * runs through them:
 *
 * | mapping | forward | backward |
 * | --- | --- | --- |
 * | {@link copyToRegion} | identity | all-reduce (sum) |
 * | {@link reduceFromRegion} | all-reduce (sum) | identity |
 * | {@link scatterToSequence} | keep this rank's slice along `axis` | all-gather along `axis` |
 * | {@link gatherFromSequence} | all-gather along `axis` | reduce-scatter (or, with `tensorParallelOutputGrad: false`, keep this rank's slice) |
 * | {@link reduceScatterToSequence} | reduce-scatter along `axis` | all-gather along `axis` |
 * | {@link allToAllMapping} | all-to-all (split `splitAxis`, concatenate `concatAxis`) | the inverse all-to-all |
 *
 * The tape needs results synchronously: on `cpu` (Gloo) the collectives run in their blocking form
 * on the calling thread — safe because the store is served from another thread and the group's
 * FIFO keeps every rank's ops in the same order; on `cuda` (NCCL) they are queued on the stream.
 * Every rank of the group must call the same mappings in the same order, forward and backward.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { GroupOption } from '../collectives/common.js';
import { getWorld } from '../process_group.js';

/** Options of the sequence mappings. */
export interface SequenceMappingOptions extends GroupOption {
  /** The sequence axis (default 1: `[batch, seqlen, ...]`). */
  axis?: number;
}

/** x through f, with the gradient `grad(dy)` (tf.customGrad). @internal */
export function custom(f: (x: Tensor) => Tensor, grad: (dy: Tensor) => Tensor, x: Tensor): Tensor {
  const fn = tf.customGrad(((a: Tensor) => ({ value: f(a), gradFunc: (dy: Tensor) => grad(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return fn(x) as Tensor;
}

/** This rank's slice of x along `axis` (divisible by the group size). @internal */
export function slice(op: string, x: Tensor, axis: number, opts?: GroupOption): Tensor {
  const g = opts?.group ?? getWorld();
  if (x.shape[axis] % g.size !== 0) throw new RangeError(`${op}: axis ${axis} of [${x.shape.join(',')}] is not divisible by the group size ${g.size}`);
  const n = x.shape[axis] / g.size;
  const begin = x.shape.map((_, d) => (d === axis ? g.rank * n : 0));
  const size = x.shape.map((s, d) => (d === axis ? n : s));
  return tf.slice(x, begin, size);
}


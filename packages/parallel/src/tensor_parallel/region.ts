/**
 * Entering and leaving a tensor-parallel region (Megatron's column → row pattern), with or without
 * sequence parallelism:
 *
 * | | without SP | with SP (activations split along the sequence outside the region) |
 * | --- | --- | --- |
 * | {@link enterTensorParallel} (before column-parallel layers) | `copyToRegion`: identity, backward all-reduce | `gatherFromSequence`: all-gather, backward reduce-scatter |
 * | {@link exitTensorParallel} (after row-parallel layers) | `reduceFromRegion`: all-reduce, backward identity | `reduceScatterToSequence`: reduce-scatter, backward all-gather |
 * | {@link allReduceInRegion} (partial sums every rank uses) | all-reduce, backward all-reduce | same |
 */
import type { Tensor } from '@falcon/tensor';
import type { ProcessGroup } from '../process_group.js';
import { copyToRegion } from '../mappings/copy_to_region.js';
import { reduceFromRegion } from '../mappings/reduce_from_region.js';
import { gatherFromSequence } from '../mappings/gather_from_sequence.js';
import { reduceScatterToSequence } from '../mappings/reduce_scatter_to_sequence.js';

/** The tensor-parallel group and whether sequence parallelism is on. */
export interface TensorParallelOptions {
  /** The tensor-parallel group (default: the world). */
  group?: ProcessGroup;
  /** Sequence parallelism: outside the region activations hold `seqlen / t` positions (default false). */
  sequenceParallel?: boolean;
  /** The sequence axis of the activations (default 1: `[batch, seqlen, ...]`). */
  sequenceAxis?: number;
}

/**
 * The input of a tensor-parallel region: replicated `[batch, seqlen, d]` (SP: all-gathered from
 * this rank's `[batch, seqlen/t, d]`), whose gradient is summed over the group in the backward.
 * @param x - `[batch, seqlen, d]`, or `[batch, seqlen/t, d]` under SP
 * @returns `[batch, seqlen, d]`
 */
export function enterTensorParallel(x: Tensor, opts: TensorParallelOptions = {}): Tensor {
  return opts.sequenceParallel ? gatherFromSequence(x, { group: opts.group, axis: opts.sequenceAxis ?? 1 }) : copyToRegion(x, { group: opts.group });
}

/**
 * The output of a tensor-parallel region: the sum over the group of each rank's partial result
 * (SP: reduce-scattered, this rank keeps its `seqlen/t` positions).
 * @param y - `[batch, seqlen, d]`, a partial sum on each rank
 * @returns `[batch, seqlen, d]`, or `[batch, seqlen/t, d]` under SP
 */
export function exitTensorParallel(y: Tensor, opts: TensorParallelOptions = {}): Tensor {
  return opts.sequenceParallel ? reduceScatterToSequence(y, { group: opts.group, axis: opts.sequenceAxis ?? 1 }) : reduceFromRegion(y, { group: opts.group });
}

/**
 * The sum over the group of a partial result that every rank then uses (e.g. a norm's sums of
 * squares over features split across ranks): all-reduce forward, all-reduce backward.
 * @param x - any shape, a partial sum on each rank
 * @returns the sum over the group, same shape
 */
export function allReduceInRegion(x: Tensor, opts: Pick<TensorParallelOptions, 'group'> = {}): Tensor {
  return reduceFromRegion(copyToRegion(x, { group: opts.group }), { group: opts.group });
}

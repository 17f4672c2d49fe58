/**
 * `gatherFromSequence`: forward all-gather along the sequence, backward reduce-scatter or split (Megatron's gather_from_sequence_parallel_region).
 */
import type { Tensor } from '@falcon/tensor';
import { allGatherSync } from '../collectives/all_gather.js';
import { normAxis } from '../collectives/common.js';
import { reduceScatterSync } from '../collectives/reduce_scatter.js';
import { custom, slice } from './common.js';
import type { SequenceMappingOptions } from './common.js';

/**
 * Forward: all-gather along the sequence axis; backward: reduce-scatter (the default, Megatron's
 * `tensor_parallel_output_grad=True`) or this rank's slice.
 *
 * @param x - `[batch, n, ...]`
 * @param opts - `axis` (default 1), `tensorParallelOutputGrad` (default true), `group`
 * @returns `[batch, size × n, ...]`
 */
export function gatherFromSequence(x: Tensor, opts?: SequenceMappingOptions & { tensorParallelOutputGrad?: boolean }): Tensor {
  const axis = normAxis('gatherFromSequence', opts?.axis ?? 1, x.rank);
  const reduce = opts?.tensorParallelOutputGrad ?? true;
  return custom(
    (a) => allGatherSync(a, { group: opts?.group, axis }),
    (dy) => (reduce ? reduceScatterSync(dy, { group: opts?.group, axis }) : slice('gatherFromSequence', dy, axis, opts)),
    x,
  );
}


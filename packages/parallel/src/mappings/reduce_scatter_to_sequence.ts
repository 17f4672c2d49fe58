/**
 * `reduceScatterToSequence`: forward reduce-scatter along the sequence, backward all-gather (Megatron's reduce_scatter_to_sequence_parallel_region).
 */
import type { Tensor } from '@falcon/tensor';
import { allGatherSync } from '../collectives/all_gather.js';
import { normAxis } from '../collectives/common.js';
import { reduceScatterSync } from '../collectives/reduce_scatter.js';
import { custom } from './common.js';
import type { SequenceMappingOptions } from './common.js';

/**
 * Forward: reduce-scatter (sum) along the sequence axis; backward: all-gather along it.
 *
 * @param x - `[batch, size × n, ...]` (a partial sum on each rank)
 * @returns `[batch, n, ...]`
 */
export function reduceScatterToSequence(x: Tensor, opts?: SequenceMappingOptions): Tensor {
  const axis = normAxis('reduceScatterToSequence', opts?.axis ?? 1, x.rank);
  return custom(
    (a) => reduceScatterSync(a, { group: opts?.group, axis }),
    (dy) => allGatherSync(dy, { group: opts?.group, axis }),
    x,
  );
}


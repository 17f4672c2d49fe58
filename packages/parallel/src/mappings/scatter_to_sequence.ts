/**
 * `scatterToSequence`: forward this rank's slice along the sequence, backward all-gather (Megatron's scatter_to_sequence_parallel_region).
 */
import type { Tensor } from '@falcon/tensor';
import { allGatherSync } from '../collectives/all_gather.js';
import { normAxis } from '../collectives/common.js';
import { custom, slice } from './common.js';
import type { SequenceMappingOptions } from './common.js';

/**
 * Forward: this rank's slice along the sequence axis; backward: all-gather along it.
 *
 * @param x - `[batch, size × n, ...]` (replicated over the group)
 * @returns `[batch, n, ...]`: slice `rank`
 */
export function scatterToSequence(x: Tensor, opts?: SequenceMappingOptions): Tensor {
  const axis = normAxis('scatterToSequence', opts?.axis ?? 1, x.rank);
  return custom(
    (a) => slice('scatterToSequence', a, axis, opts),
    (dy) => allGatherSync(dy, { group: opts?.group, axis }),
    x,
  );
}


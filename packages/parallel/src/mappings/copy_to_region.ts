/**
 * `copyToRegion`: forward identity, backward all-reduce (Megatron's copy_to_tensor_model_parallel_region; see mappings/common.ts).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduceSync } from '../collectives/all_reduce.js';
import type { GroupOption } from '../collectives/common.js';
import { custom } from './common.js';

/**
 * Forward identity, backward all-reduce over the group (the input of a column-parallel layer).
 *
 * @param x - any shape (replicated over the group)
 * @returns x (a copy)
 */
export function copyToRegion(x: Tensor, opts?: GroupOption): Tensor {
  return custom(
    (a) => tf.clone(a),
    (dy) => allReduceSync(dy, opts),
    x,
  );
}


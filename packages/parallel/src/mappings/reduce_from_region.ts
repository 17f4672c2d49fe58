/**
 * `reduceFromRegion`: forward all-reduce, backward identity (Megatron's reduce_from_tensor_model_parallel_region).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduceSync } from '../collectives/all_reduce.js';
import type { GroupOption } from '../collectives/common.js';
import { custom } from './common.js';

/**
 * Forward all-reduce (sum) over the group, backward identity (the output of a row-parallel layer).
 *
 * @param x - any shape (a partial sum on each rank)
 * @returns the sum over the group, x's shape
 */
export function reduceFromRegion(x: Tensor, opts?: GroupOption): Tensor {
  return custom(
    (a) => allReduceSync(a, opts),
    (dy) => tf.clone(dy),
    x,
  );
}


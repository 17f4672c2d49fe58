/**
 * `allToAllMapping`: forward all-to-all, backward the inverse all-to-all (Megatron's all_to_all; context/expert parallelism).
 */
import type { Tensor } from '@falcon/tensor';
import { allToAllSync } from '../collectives/all_to_all.js';
import type { GroupOption } from '../collectives/common.js';
import { normAxis } from '../collectives/common.js';
import { custom } from './common.js';

/**
 * Forward all-to-all (split `splitAxis` into `size` blocks sent to each rank, concatenate what is
 * received along `concatAxis`); backward the inverse all-to-all (split `concatAxis`, concatenate `splitAxis`).
 *
 * @param x - `[..., size × n (splitAxis), ...]`
 * @returns splitAxis divided by, concatAxis multiplied by the group size
 */
export function allToAllMapping(x: Tensor, opts: GroupOption & { splitAxis: number; concatAxis: number }): Tensor {
  const s = normAxis('allToAll', opts.splitAxis, x.rank);
  const c = normAxis('allToAll', opts.concatAxis, x.rank);
  return custom(
    (a) => allToAllSync(a, { group: opts.group, splitAxis: s, concatAxis: c }),
    (dy) => allToAllSync(dy, { group: opts.group, splitAxis: c, concatAxis: s }),
    x,
  );
}

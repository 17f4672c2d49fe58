/**
 * `allToAll`: x is split along `splitAxis` into `size` blocks; block r goes to rank r; the blocks
 * received (block r from rank r) are concatenated along `concatAxis`.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { Work } from '../work.js';
import { describe, normAxis, now, prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link allToAll}. */
export interface AllToAllOptions extends GroupOption {
  /** Axis split into `size` blocks (default 0). */
  splitAxis?: number;
  /** Axis the received blocks are concatenated along (default 0). */
  concatAxis?: number;
}

function run(x: Tensor, opts: AllToAllOptions | undefined) {
  const { group, engine } = prepare('allToAll', opts, x);
  if (x.rank === 0) throw new RangeError('allToAll: x must have at least one axis');
  const splitAxis = normAxis('allToAll', opts?.splitAxis ?? 0, x.rank);
  const concatAxis = normAxis('allToAll', opts?.concatAxis ?? 0, x.rank);
  if (x.shape[splitAxis] % group.size !== 0) {
    throw new RangeError(`allToAll on rank ${group.globalRank}: axis ${splitAxis} of ${describe(x)} is not divisible by the group size ${group.size}`);
  }
  const blocks = (): Tensor => tf.stack(tf.split(x, group.size, splitAxis));
  const assemble = (t: Tensor): Tensor => {
    const r = tf.concat(tf.unstack(t, 0), concatAxis);
    t.dispose();
    return r;
  };
  return { group, engine, blocks, assemble, header: `${describe(x)} split=${splitAxis} concat=${concatAxis}` };
}

/**
 * All-to-all. Every rank passes x of the same shape and dtype.
 *
 * @param x - `[..., size × n (splitAxis), ...]`
 * @param opts - `splitAxis`, `concatAxis` (default 0 both), `group`
 * @returns a Work giving x's shape with `splitAxis` divided by and `concatAxis` multiplied by the group size
 */
export function allToAll(x: Tensor, opts?: AllToAllOptions): Work<Tensor> {
  const r = run(x, opts);
  return work(r.group, 'allToAll', async () => {
    const b = r.blocks();
    try {
      return r.assemble(await r.engine.allToAll(b, r.header, false));
    } finally {
      b.dispose();
    }
  });
}

/** {@link allToAll}, blocking (used inside autodiff). */
export function allToAllSync(x: Tensor, opts?: AllToAllOptions): Tensor {
  const r = run(x, opts);
  const b = r.blocks();
  try {
    return r.assemble(now(r.group, 'allToAll', () => r.engine.allToAll(b, r.header, true)));
  } finally {
    b.dispose();
  }
}

/**
 * `exclusiveChunkScan`: the exclusive scan over the chunks of the context-parallel layout of the
 * linear recurrence `s_{j+1} = a_j · s_j + b_j`, `s_0 = 0` (Mamba-2's state passing: a_j the decay
 * of chunk j, b_j its final state from a zero start, s_j its true initial state). Every rank
 * contributes the summaries of its two chunks; they are all-gathered (2c small tensors, independent
 * of the sequence length), ordered by chunk, and scanned; each rank keeps the results of its own
 * chunks. Backward: the all-gather's reduce-scatter sends each rank the gradient of its summaries
 * summed over every later chunk that used them.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { GroupOption } from '../collectives/common.js';
import { gatherFromSequence } from '../mappings/gather_from_sequence.js';
import { getWorld } from '../process_group.js';
import { chunkOwner } from './layout.js';

/**
 * @param a - `[2, ...]`: the multipliers of this rank's two chunks (local order), broadcastable against b's entries
 * @param b - `[2, ...]`: the additive terms of this rank's two chunks
 * @returns `[2, ...b]`: s of this rank's two chunks (the value before each chunk), float32
 */
export function exclusiveChunkScan(a: Tensor, b: Tensor, opts: GroupOption = {}): Tensor {
  const group = opts.group ?? getWorld();
  if (a.shape[0] !== 2 || b.shape[0] !== 2) throw new RangeError(`exclusiveChunkScan: a [${a.shape.join(',')}] and b [${b.shape.join(',')}] must hold this rank's 2 chunks along axis 0`);
  const c = group.size;
  return tf.tidy(() => {
    const gather = (t: Tensor) => (c === 1 ? t : gatherFromSequence(t, { group, axis: 0 }));
    const as = tf.unstack(gather(a));
    const bs = tf.unstack(gather(b));
    // entry 2·q + i of the gathered list is chunk i of rank q
    const at = (list: Tensor[], chunk: number) => list[2 * chunkOwner(chunk, c) + (chunk < c ? 0 : 1)];
    const mine = [group.rank, 2 * c - 1 - group.rank];
    let s: Tensor = tf.zerosLike(bs[0]);
    const out: Tensor[] = [];
    for (let j = 0; j <= mine[1]; j++) {
      if (j === mine[0]) out[0] = s;
      if (j === mine[1]) out[1] = s;
      if (j < mine[1]) s = tf.add(tf.mul(at(as, j), s), at(bs, j));
    }
    return tf.stack(out);
  });
}

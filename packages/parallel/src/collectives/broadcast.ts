/**
 * `broadcast`: every rank gets the tensor of rank `src`.
 */
import type { Tensor } from '@falcon/tensor';
import type { Work } from '../work.js';
import { describe, prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link broadcast}. */
export interface BroadcastOptions extends GroupOption {
  /** The global rank whose tensor is sent (as torch: a global rank, which must be in the group). */
  src: number;
}

/**
 * Broadcast. Every rank passes a tensor of the same shape and dtype (the others' values are ignored).
 *
 * @param x - any shape on the group's backend
 * @param opts - `src` (global rank) and `group`
 * @returns a Work giving a new tensor of x's shape holding src's values
 */
export function broadcast(x: Tensor, opts: BroadcastOptions): Work<Tensor> {
  const { group, engine } = prepare('broadcast', opts, x);
  if (opts?.src === undefined) throw new RangeError('broadcast: opts.src (a global rank) is required');
  const root = group.groupRank(opts.src);
  return work(group, 'broadcast', () => engine.broadcast(x, root, `${describe(x)} src=${opts.src}`, false));
}

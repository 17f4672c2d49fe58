/**
 * Point-to-point: `send` and `recv` (for pipelines and rings). A send matches the receive on the
 * other side with the same tag, in order. They are posted at once (never blocking the group's other
 * work), so a ring where every rank sends then receives does not deadlock.
 */
import type { Tensor } from '@falcon/tensor';
import { CollectiveError } from '../errors.js';
import { getWorld } from '../process_group.js';
import type { Work } from '../work.js';
import { prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link send}. */
export interface SendOptions extends GroupOption {
  /** Destination (global rank, in the group). */
  dst: number;
  /** Tag matching the receive (default 0; 0 ≤ tag < 2^24). */
  tag?: number;
}

/** Options of {@link recv}. */
export interface RecvOptions extends GroupOption {
  /** Source (global rank, in the group). */
  src: number;
  /** Tag matching the send (default 0). */
  tag?: number;
}

function checkTag(op: string, tag: number): number {
  if (!Number.isInteger(tag) || tag < 0 || tag >= 1 << 24) throw new RangeError(`${op}: tag must be an integer in [0, 2^24), got ${tag}`);
  return tag;
}

/**
 * Sends x to `dst`. The receiver's `recv` must ask for the same number of elements and dtype.
 *
 * @param x - any shape on the group's backend (not mutated; keep it alive until the Work completes is not needed)
 * @param opts - `dst` (global rank), `tag`, `group`
 * @returns a Work that completes when the data has been handed to the receiver
 */
export function send(x: Tensor, opts: SendOptions): Work<void> {
  const { group, engine } = prepare('send', opts, x);
  const dst = group.groupRank(opts.dst);
  if (dst === group.rank) throw new CollectiveError(`send on rank ${group.globalRank}: cannot send to itself`, group.globalRank, 'send');
  const tag = checkTag('send', opts.tag ?? 0);
  return work(group, 'send', () => engine.send(x, dst, tag, false));
}

/**
 * Receives a tensor from `src`.
 *
 * @param shape - shape of the tensor to receive (the sender's element count)
 * @param dtype - float32 or int32 (the sender's)
 * @param opts - `src` (global rank), `tag`, `group`
 * @returns a Work giving the received tensor `[...shape]`
 */
export function recv(shape: number[], dtype: 'float32' | 'int32', opts: RecvOptions): Work<Tensor> {
  const group = opts?.group ?? getWorld();
  const { engine } = prepare('recv', opts);
  if (dtype !== 'float32' && dtype !== 'int32') throw new TypeError(`recv: dtype must be float32 or int32, got ${String(dtype)}`);
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) throw new RangeError(`recv: bad shape [${shape.join(',')}]`);
  const src = group.groupRank(opts.src);
  if (src === group.rank) throw new CollectiveError(`recv on rank ${group.globalRank}: cannot receive from itself`, group.globalRank, 'recv');
  const tag = checkTag('recv', opts.tag ?? 0);
  return work(group, 'recv', () => engine.recv(shape, dtype, src, tag, false));
}

/**
 * Point-to-point: `send` and `recv` (for pipelines and rings). A send matches the receive on the
 * other side with the same tag, in order. They are posted at once (never blocking the group's other
 * work), so a ring where every rank sends then receives does not deadlock. `isend` and `irecv` post
 * the same transfers and return a {@link P2PHandle} whose `wait()` blocks (for synchronous code such
 * as the autodiff tape, which cannot await): post, compute, then wait, and the transfer runs
 * concurrently with the compute (on the Gloo addon's threads; NCCL queues it on the stream).
 */
import type { Tensor } from '@falcon/tensor';
import { CollectiveError, toCollectiveError } from '../errors.js';
import { getWorld } from '../process_group.js';
import type { ProcessGroup } from '../process_group.js';
import type { P2PHandle, Work } from '../work.js';
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

/** The checks of a send (`send`, `isend`): the group, its engine, the destination's group rank and the tag. */
function sendArgs(op: string, x: Tensor, opts: SendOptions) {
  const { group, engine } = prepare(op, opts, x);
  const dst = group.groupRank(opts.dst);
  if (dst === group.rank) throw new CollectiveError(`${op} on rank ${group.globalRank}: cannot send to itself`, group.globalRank, op);
  return { group, engine, dst, tag: checkTag(op, opts.tag ?? 0) };
}

/** The checks of a receive (`recv`, `irecv`): the group, its engine, the source's group rank and the tag. */
function recvArgs(op: string, shape: number[], dtype: 'float32' | 'int32', opts: RecvOptions) {
  const group = opts?.group ?? getWorld();
  const { engine } = prepare(op, opts);
  if (dtype !== 'float32' && dtype !== 'int32') throw new TypeError(`${op}: dtype must be float32 or int32, got ${String(dtype)}`);
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) throw new RangeError(`${op}: bad shape [${shape.join(',')}]`);
  const src = group.groupRank(opts.src);
  if (src === group.rank) throw new CollectiveError(`${op} on rank ${group.globalRank}: cannot receive from itself`, group.globalRank, op);
  return { group, engine, src, tag: checkTag(op, opts.tag ?? 0) };
}

/** A handle whose errors (posting or waiting) are CollectiveErrors naming this rank. */
function guarded<T>(group: ProcessGroup, op: string, post: () => P2PHandle<T>): P2PHandle<T> {
  let h: P2PHandle<T>;
  try {
    h = post();
  } catch (e) {
    throw toCollectiveError(e, group.globalRank, op);
  }
  return {
    wait: () => {
      try {
        return h.wait();
      } catch (e) {
        throw toCollectiveError(e, group.globalRank, op);
      }
    },
    isCompleted: () => h.isCompleted(),
  };
}

/**
 * Sends x to `dst`. The receiver's `recv` must ask for the same number of elements and dtype.
 *
 * @param x - any shape on the group's backend (not mutated; keep it alive until the Work completes is not needed)
 * @param opts - `dst` (global rank), `tag`, `group`
 * @returns a Work that completes when the data has been handed to the receiver
 */
export function send(x: Tensor, opts: SendOptions): Work<void> {
  const { group, engine, dst, tag } = sendArgs('send', x, opts);
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
  const { group, engine, src, tag } = recvArgs('recv', shape, dtype, opts);
  return work(group, 'recv', () => engine.recv(shape, dtype, src, tag, false));
}

/**
 * Posts a send of x to `dst` and returns at once; `wait()` blocks until the data has been handed
 * to the receiver (the receiver may use `recv` or `irecv`).
 *
 * @param x - any shape on the group's backend (read in place: do not mutate it before `wait()`)
 * @param opts - `dst` (global rank), `tag`, `group`
 * @returns a handle; wait it exactly once
 */
export function isend(x: Tensor, opts: SendOptions): P2PHandle<void> {
  const { group, engine, dst, tag } = sendArgs('isend', x, opts);
  return guarded(group, 'isend', () => engine.isend(x, dst, tag));
}

/**
 * Posts a receive from `src` and returns at once; `wait()` blocks until the tensor has arrived and
 * returns it (the data lands while the caller computes).
 *
 * @param shape - shape of the tensor to receive (the sender's element count)
 * @param dtype - float32 or int32 (the sender's)
 * @param opts - `src` (global rank), `tag`, `group`
 * @returns a handle whose `wait()` gives the received tensor `[...shape]`; wait it exactly once
 */
export function irecv(shape: number[], dtype: 'float32' | 'int32', opts: RecvOptions): P2PHandle<Tensor> {
  const { group, engine, src, tag } = recvArgs('irecv', shape, dtype, opts);
  return guarded(group, 'irecv', () => engine.irecv(shape, dtype, src, tag));
}

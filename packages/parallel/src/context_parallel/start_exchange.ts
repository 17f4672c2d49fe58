/**
 * `startExchange`: {@link exchange} split in two so that its transfer overlaps compute. The call
 * posts the send of x and the receive of the peer's tensor and returns at once; `wait()` returns
 * what was received. Code between the two runs while the bytes move (on Gloo the addon's threads
 * carry them; on NCCL both are queued on the stream, odd group ranks receiving first as in
 * `exchange`).
 *
 * The backward overlaps the same way. The tape holds two nodes: the post (input x, output an
 * empty token) and the wait (input the token, output y). Reversed, the wait's gradient runs first
 * and posts the gradient's exchange (dy back to the sender, dx from the receiver); whatever was
 * recorded between post and wait (the compute on the previous block) then runs its backward; the
 * post's gradient finally waits for dx. The values are those of `exchange`: same messages, same
 * sums.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { irecv, isend } from '../collectives/send_recv.js';
import { custom } from '../mappings/common.js';
import { getWorld } from '../process_group.js';
import type { ProcessGroup } from '../process_group.js';
import type { P2PHandle } from '../work.js';
import type { GroupOption } from '../collectives/common.js';
import { checkExchange } from './exchange.js';
import type { ExchangeOptions } from './exchange.js';

/** An exchange in flight (from {@link startExchange}). */
export interface PendingExchange {
  /**
   * Blocks until the peer's tensor has arrived and returns it (x's shape; zeros when `recvFrom`
   * is null), differentiable like {@link exchange}'s result. Call it exactly once.
   */
  wait(): Tensor;
}

/** Posts x to `to` and a receive from `from` (ranks of the group or null); the finisher waits both. */
function post(x: Tensor, group: ProcessGroup, to: number | null, from: number | null, tag: number): () => Tensor {
  const shape = [...x.shape];
  const dtype = x.dtype as 'float32';
  let r: P2PHandle<Tensor> | null = null;
  let s: P2PHandle<void> | null = null;
  const receive = () => {
    if (from !== null) r = irecv(shape, dtype, { group, src: group.ranks[from], tag });
  };
  const send = () => {
    if (to !== null) s = isend(x, { group, dst: group.ranks[to], tag });
  };
  // NCCL runs a stream's sends and receives in order and a send waits for its receive (see exchange)
  if (group.backend === 'nccl' && group.rank % 2 === 1) {
    receive();
    send();
  } else {
    send();
    receive();
  }
  return () => {
    const y = r ? (r as P2PHandle<Tensor>).wait() : tf.zeros(shape, dtype);
    if (s) (s as P2PHandle<void>).wait();
    return y;
  };
}

/**
 * Posts an exchange of x (send to `sendTo`, receive from `recvFrom`) and returns before it is
 * done: compute, then `wait()`. Every rank of the group must start and wait the same exchanges in
 * the same order, and must not start another exchange with the same tag between a start and its
 * wait's backward in another order than its peers.
 *
 * @param x - float32, any shape (the same on the sender and the receiver); not to be disposed before `wait()`
 * @param opts - `sendTo`, `recvFrom` (group ranks or null), `tag` (the backward uses tag + 1), `group`
 * @returns the pending exchange; `wait()` gives the received tensor, x's shape
 */
export function startExchange(x: Tensor, opts: ExchangeOptions): PendingExchange {
  const { group, tag } = checkExchange('startExchange', opts);
  const { sendTo, recvFrom } = opts;
  let forward: (() => Tensor) | undefined;
  let backward: (() => Tensor) | undefined;
  const token = custom(
    (a) => {
      forward = post(a, group, sendTo, recvFrom, tag);
      return tf.zeros([0]);
    },
    () => {
      const finish = backward;
      backward = undefined;
      if (!finish) throw new Error(`startExchange on rank ${group.globalRank}: the gradient of the post ran before the gradient of its wait`);
      return finish();
    },
    x,
  );
  let waited = false;
  return {
    wait: () => {
      if (waited) throw new Error(`startExchange on rank ${group.globalRank}: wait() was already called`);
      waited = true;
      return custom(
        () => {
          const finish = forward!;
          forward = undefined;
          return finish();
        },
        (dy) => {
          backward = post(dy, group, recvFrom, sendTo, tag + 1);
          return tf.zeros([0]);
        },
        token,
      );
    },
  };
}

/**
 * Starts one step of a ring: x goes to the next rank of the group, the previous rank's x comes
 * back at `wait()` (x itself on a group of one). Differentiable like `ringShift`.
 *
 * @param x - float32, the same shape on every rank
 * @returns the pending shift; `wait()` gives the previous rank's x
 */
export function startRingShift(x: Tensor, opts: GroupOption & { tag?: number } = {}): PendingExchange {
  const group = opts.group ?? getWorld();
  if (group.size === 1) return { wait: () => x };
  return startExchange(x, { group, sendTo: (group.rank + 1) % group.size, recvFrom: (group.rank + group.size - 1) % group.size, tag: opts.tag });
}

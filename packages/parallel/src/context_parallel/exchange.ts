/**
 * `exchange`: a differentiable point-to-point shift. Forward: send x to one rank of the group and
 * receive a tensor of x's shape from another; backward: the gradient of what was received goes back
 * to where it came from, and the gradient of what was sent comes back from where it went. Rings
 * (ring attention's K/V blocks) and halos (the causal conv's k−1 inputs of the previous chunk) are
 * made of it; the K/V gradients then travel back around the ring by themselves.
 *
 * On Gloo the send is posted first and never blocks (it is posted on the group's FIFO thread and
 * waited for on a thread of its own), then the receive runs in its blocking form, as autodiff needs
 * its result at once: every rank sending before receiving cannot deadlock. On NCCL both are queued
 * on the stream, where a send waits for its receive: odd group ranks queue the receive first.
 * Every rank of the group must call the same exchanges in the same order.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { now, prepare } from '../collectives/common.js';
import type { GroupOption } from '../collectives/common.js';
import { send } from '../collectives/send_recv.js';
import { CollectiveError } from '../errors.js';
import { getWorld } from '../process_group.js';
import type { ProcessGroup } from '../process_group.js';
import { custom } from '../mappings/common.js';

/** Options of {@link exchange}. */
export interface ExchangeOptions extends GroupOption {
  /** Group rank to send x to (null: send nothing). */
  sendTo: number | null;
  /** Group rank to receive from (null: the result is zeros). */
  recvFrom: number | null;
  /** Tag of the forward messages (default 0x5000); the backward uses tag + 1. Below 2^24 − 1. */
  tag?: number;
}

const failures = new WeakMap<ProcessGroup, unknown>();

function post(x: Tensor, group: ProcessGroup, to: number, tag: number): void {
  const w = send(x, { group, dst: group.ranks[to], tag });
  w.wait().catch((e: unknown) => failures.set(group, e));
}

/** A blocking receive (the synchronous form of `recv`). @internal */
export function recvSync(shape: number[], dtype: 'float32' | 'int32', group: ProcessGroup, from: number, tag: number): Tensor {
  const { engine } = prepare('recv', { group });
  return now(group, 'recv', () => engine.recv(shape, dtype, from, tag, true));
}

function shift(x: Tensor, group: ProcessGroup, to: number | null, from: number | null, tag: number): Tensor {
  const failed = failures.get(group);
  if (failed !== undefined) {
    failures.delete(group);
    throw failed instanceof Error ? failed : new CollectiveError(`exchange: an earlier send failed: ${String(failed)}`, group.globalRank, 'send');
  }
  const receive = () => (from === null ? tf.zerosLike(x) : recvSync([...x.shape], x.dtype as 'float32', group, from, tag));
  // NCCL runs a stream's sends and receives in order and a send waits for its receive: odd ranks
  // receive first, so a ring or a chain always has a matching pair at its head
  if (group.backend === 'nccl' && group.rank % 2 === 1) {
    const y = receive();
    if (to !== null) post(x, group, to, tag);
    return y;
  }
  if (to !== null) post(x, group, to, tag);
  return receive();
}

/**
 * Sends x to `sendTo` and returns what `recvFrom` sent (zeros when `recvFrom` is null); the
 * gradient flows the opposite way. Both sides' tensors have the same shape.
 *
 * @param x - float32, any shape (the same on the sender and the receiver)
 * @param opts - `sendTo`, `recvFrom` (group ranks or null), `tag`, `group`
 * @returns the received tensor, x's shape
 */
export function exchange(x: Tensor, opts: ExchangeOptions): Tensor {
  const { group, tag } = checkExchange('exchange', opts);
  return custom(
    (a) => shift(a, group, opts.sendTo, opts.recvFrom, tag),
    (dy) => shift(dy, group, opts.recvFrom, opts.sendTo, tag + 1),
    x,
  );
}

/** The group and tag of an exchange, after checking the ranks and the tag. @internal */
export function checkExchange(op: string, opts: ExchangeOptions): { group: ProcessGroup; tag: number } {
  const group = opts.group ?? getWorld();
  const tag = opts.tag ?? 0x5000;
  for (const [name, r] of [['sendTo', opts.sendTo], ['recvFrom', opts.recvFrom]] as const) {
    if (r !== null && (!Number.isInteger(r) || r < 0 || r >= group.size || r === group.rank)) {
      throw new RangeError(`${op} on rank ${group.globalRank}: ${name} ${r} is not another rank of the group (size ${group.size}, this rank ${group.rank})`);
    }
  }
  if (!Number.isInteger(tag) || tag < 0 || tag + 1 >= 1 << 24) throw new RangeError(`${op}: tag must be an integer in [0, 2^24 − 1), got ${tag}`);
  return { group, tag };
}

/**
 * One step of a ring: x goes to the next rank of the group, the previous rank's x comes back
 * (the identity on a group of one). Differentiable (the gradient goes round the other way).
 *
 * @param x - float32, the same shape on every rank
 * @returns the previous rank's x
 */
export function ringShift(x: Tensor, opts: GroupOption & { tag?: number } = {}): Tensor {
  const group = opts.group ?? getWorld();
  if (group.size === 1) return x;
  return exchange(x, { group, sendTo: (group.rank + 1) % group.size, recvFrom: (group.rank + group.size - 1) % group.size, tag: opts.tag });
}

/**
 * `allReduce`: every rank gets the element-wise reduction (sum, avg, max, min) of every rank's x.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { ReduceOp } from '../engine.js';
import type { ProcessGroup } from '../process_group.js';
import type { Work } from '../work.js';
import { describe, now, prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link allReduce}. */
export interface AllReduceOptions extends GroupOption {
  /** The reduction (default `'sum'`; `'avg'` is the sum divided by the group size, float32 only). */
  op?: ReduceOp;
}

function run(x: Tensor, opts: AllReduceOptions | undefined, sync: boolean): { group: ProcessGroup; result: () => Tensor | Promise<Tensor> } {
  const op = opts?.op ?? 'sum';
  if (!['sum', 'avg', 'max', 'min'].includes(op)) throw new RangeError(`allReduce: unknown op '${op}' (sum, avg, max, min)`);
  const { group, engine } = prepare('allReduce', opts, x);
  if (op === 'avg' && x.dtype !== 'float32') throw new TypeError(`allReduce: op 'avg' needs float32, got ${describe(x)}`);
  const base = op === 'avg' ? 'sum' : op;
  const header = `${describe(x)} ${op}`;
  const scale = (t: Tensor): Tensor => {
    if (op !== 'avg') return t;
    const s = tf.div(t, group.size);
    t.dispose();
    return s;
  };
  return {
    group,
    result: () => {
      const r = engine.allReduce(x, base, header, sync);
      return r instanceof Promise ? r.then(scale) : scale(r);
    },
  };
}

/**
 * All-reduce. Every rank of the group calls it with a tensor of the same shape and dtype.
 *
 * @param x - any shape, float32 or int32, on the group's backend (cpu for gloo, cuda for nccl); not mutated
 * @param opts - `op` (default sum) and `group` (default the world)
 * @returns a Work whose `wait()` gives a new tensor of x's shape
 */
export function allReduce(x: Tensor, opts?: AllReduceOptions): Work<Tensor> {
  const { group, result } = run(x, opts, false);
  return work(group, 'allReduce', result);
}

/** {@link allReduce} that blocks until done and returns the tensor (used inside autodiff). */
export function allReduceSync(x: Tensor, opts?: AllReduceOptions): Tensor {
  const { group, result } = run(x, opts, true);
  return now(group, 'allReduce', result);
}

/**
 * All-reduce of a flat host buffer, in place (the data-parallel engine's gradient buckets; no tensor wrapping).
 *
 * @param buf - `[n]` float32, reduced in place
 * @param opts - `op` and `group`
 * @returns a Work whose `wait()` gives `buf`
 */
export function allReduceBuffer(buf: Float32Array, opts?: AllReduceOptions): Work<Float32Array> {
  const op = opts?.op ?? 'sum';
  if (!['sum', 'avg', 'max', 'min'].includes(op)) throw new RangeError(`allReduceBuffer: unknown op '${op}' (sum, avg, max, min)`);
  if (!(buf instanceof Float32Array)) throw new TypeError('allReduceBuffer: buf must be a Float32Array');
  const { group, engine } = prepare('allReduceBuffer', opts);
  return work(group, 'allReduceBuffer', async () => {
    await engine.allReduceBuffer(buf, op === 'avg' ? 'sum' : op);
    if (op === 'avg') for (let i = 0; i < buf.length; i++) buf[i] /= group.size;
    return buf;
  });
}

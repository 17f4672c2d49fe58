/**
 * `reduceScatter`: x is split along an axis into `size` equal blocks; rank r gets the reduction of
 * every rank's block r.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { ReduceOp } from '../engine.js';
import type { Work } from '../work.js';
import { describe, normAxis, now, prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link reduceScatter}. */
export interface ReduceScatterOptions extends GroupOption {
  /** The reduction (default sum; avg divides by the group size, float32 only). */
  op?: ReduceOp;
  /** Axis to split along (default 0). */
  axis?: number;
}

function run(x: Tensor, opts: ReduceScatterOptions | undefined) {
  const op = opts?.op ?? 'sum';
  if (!['sum', 'avg', 'max', 'min'].includes(op)) throw new RangeError(`reduceScatter: unknown op '${op}' (sum, avg, max, min)`);
  const { group, engine } = prepare('reduceScatter', opts, x);
  if (x.rank === 0) throw new RangeError('reduceScatter: x must have at least one axis');
  const axis = normAxis('reduceScatter', opts?.axis ?? 0, x.rank);
  if (x.shape[axis] % group.size !== 0) {
    throw new RangeError(`reduceScatter on rank ${group.globalRank}: axis ${axis} of ${describe(x)} is not divisible by the group size ${group.size}`);
  }
  if (op === 'avg' && x.dtype !== 'float32') throw new TypeError(`reduceScatter: op 'avg' needs float32, got ${describe(x)}`);
  // [size, ...block] with block r = x's r-th slice along axis.
  const blocks = (): Tensor => (axis === 0 ? tf.reshape(x, [group.size, x.shape[0] / group.size, ...x.shape.slice(1)]) : tf.stack(tf.split(x, group.size, axis)));
  const finish = (t: Tensor): Tensor => {
    if (op !== 'avg') return t;
    const s = tf.div(t, group.size);
    t.dispose();
    return s;
  };
  return { group, engine, blocks, finish, base: (op === 'avg' ? 'sum' : op) as Exclude<ReduceOp, 'avg'>, header: `${describe(x)} ${op} axis=${axis}` };
}

/**
 * Reduce-scatter. Every rank passes x of the same shape and dtype.
 *
 * @param x - `[..., size × n, ...]` (the split axis divisible by the group size)
 * @param opts - `op` (default sum), `axis` (default 0), `group`
 * @returns a Work giving `[..., n, ...]`
 */
export function reduceScatter(x: Tensor, opts?: ReduceScatterOptions): Work<Tensor> {
  const r = run(x, opts);
  return work(r.group, 'reduceScatter', async () => {
    const b = r.blocks();
    try {
      return r.finish(await r.engine.reduceScatter(b, r.base, r.header, false));
    } finally {
      b.dispose();
    }
  });
}

/** {@link reduceScatter}, blocking (used inside autodiff). */
export function reduceScatterSync(x: Tensor, opts?: ReduceScatterOptions): Tensor {
  const r = run(x, opts);
  const b = r.blocks();
  try {
    return r.finish(now(r.group, 'reduceScatter', () => r.engine.reduceScatter(b, r.base, r.header, true)));
  } finally {
    b.dispose();
  }
}

/**
 * Reduce-scatter of a flat host buffer (ZeRO-1's gradient shards; no tensor wrapping).
 *
 * @param buf - `[size × n]` float32 (not mutated)
 * @param opts - `op` (default sum; avg divides by the group size) and `group`
 * @returns a Work giving a new `[n]` buffer: the reduction of every rank's block `rank`
 */
export function reduceScatterBuffer(buf: Float32Array, opts?: Omit<ReduceScatterOptions, 'axis'>): Work<Float32Array> {
  const op = opts?.op ?? 'sum';
  if (!['sum', 'avg', 'max', 'min'].includes(op)) throw new RangeError(`reduceScatterBuffer: unknown op '${op}' (sum, avg, max, min)`);
  if (!(buf instanceof Float32Array)) throw new TypeError('reduceScatterBuffer: buf must be a Float32Array');
  const { group, engine } = prepare('reduceScatterBuffer', opts);
  if (buf.length % group.size !== 0) throw new RangeError(`reduceScatterBuffer on rank ${group.globalRank}: length ${buf.length} is not divisible by the group size ${group.size}`);
  const out = new Float32Array(buf.length / group.size);
  return work(group, 'reduceScatterBuffer', async () => {
    await engine.reduceScatterBuffer(buf, out, op === 'avg' ? 'sum' : op);
    if (op === 'avg') for (let i = 0; i < out.length; i++) out[i] /= group.size;
    return out;
  });
}

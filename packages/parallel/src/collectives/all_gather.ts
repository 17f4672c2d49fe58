/**
 * `allGather` / `allGatherList`: every rank gets every rank's x, concatenated along an axis or as a list.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { Work } from '../work.js';
import { describe, normAxis, now, prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/** Options of {@link allGather}. */
export interface AllGatherOptions extends GroupOption {
  /** Axis to concatenate along (default 0). */
  axis?: number;
}

/** `[size, ...shape]` → concatenation along `axis` (disposes the stacked input). */
function concatAlong(stacked: Tensor, axis: number): Tensor {
  const size = stacked.shape[0];
  const shape = stacked.shape.slice(1);
  if (axis === 0) {
    const r = tf.reshape(stacked, [size * (shape[0] ?? 1), ...shape.slice(1)]);
    stacked.dispose();
    return r;
  }
  const r = tf.tidy(() => {
    // [size, a0..ak..] → move size next to axis k and merge them.
    const perm = [...Array(shape.length + 1).keys()].slice(1);
    perm.splice(axis, 0, 0);
    const t = tf.transpose(stacked, perm);
    const merged = [...shape];
    merged[axis] *= size;
    return tf.reshape(t, merged);
  });
  stacked.dispose();
  return r;
}

function run(x: Tensor, opts: AllGatherOptions | undefined) {
  const { group, engine } = prepare('allGather', opts, x);
  const axis = normAxis('allGather', opts?.axis ?? 0, x.rank);
  if (x.rank === 0) throw new RangeError('allGather: x must have at least one axis (reshape a scalar to [1])');
  const header = `${describe(x)} axis=${axis}`;
  return { group, engine, axis, header };
}

/**
 * All-gather into one tensor. Every rank passes x of the same shape and dtype.
 *
 * @param x - `[..., n_axis, ...]` on the group's backend
 * @param opts - `axis` (default 0) and `group`
 * @returns a Work giving `[..., size × n_axis, ...]`: rank r's x at block r along `axis`
 */
export function allGather(x: Tensor, opts?: AllGatherOptions): Work<Tensor> {
  const { group, engine, axis, header } = run(x, opts);
  return work(group, 'allGather', async () => concatAlong(await engine.allGather(x, header, false), axis));
}

/** {@link allGather}, blocking (used inside autodiff). */
export function allGatherSync(x: Tensor, opts?: AllGatherOptions): Tensor {
  const { group, engine, axis, header } = run(x, opts);
  return concatAlong(now(group, 'allGather', () => engine.allGather(x, header, true)), axis);
}

/**
 * All-gather into a list.
 *
 * @param x - any shape (rank ≥ 1) on the group's backend
 * @param opts - `group`
 * @returns a Work giving `size` tensors of x's shape, rank r's at index r
 */
export function allGatherList(x: Tensor, opts?: GroupOption): Work<Tensor[]> {
  const { group, engine, header } = run(x, { ...opts, axis: 0 });
  return work(group, 'allGather', async () => {
    const stacked = await engine.allGather(x, header, false);
    const list = tf.unstack(stacked, 0);
    stacked.dispose();
    return list;
  });
}

/**
 * All-gather of a flat host buffer (ZeRO-1's parameter shards; no tensor wrapping).
 *
 * @param buf - `[n]` float32 (not mutated)
 * @param opts - `group`
 * @returns a Work giving a new `[size × n]` buffer: rank r's buf at r × n
 */
export function allGatherBuffer(buf: Float32Array, opts?: GroupOption): Work<Float32Array> {
  if (!(buf instanceof Float32Array)) throw new TypeError('allGatherBuffer: buf must be a Float32Array');
  const { group, engine } = prepare('allGatherBuffer', opts);
  const out = new Float32Array(buf.length * group.size);
  return work(group, 'allGatherBuffer', () => engine.allGatherBuffer(buf, out));
}

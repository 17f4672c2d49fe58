/**
 * Reference attention backward, written with tfjs ops from the FlashAttention-2 formulas
 * (D = rowsum(dO∘O) − dlse, P = exp(S − lse), dV = Pᵀ·dO, dS = P∘(dO·Vᵀ − D), dQ = dS·K·scale,
 * dK = dSᵀ·Q·scale, dK/dV summed over the query heads of a KV group). It materialises the scores;
 * the test checks it against tfjs autodiff of the forward reference, and backends without a tiled
 * backward kernel run it.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from '../attention_attrs.js';
import type { AttentionTensors } from './flash_attention.js';
import { expandKvHeads, scoreBias } from './flash_attention.js';
import { dims } from '../validate.js';

/** The forward's inputs and outputs plus the output gradients. */
export interface AttentionBackwardTensors extends AttentionTensors {
  /** Forward output `[batch, seqlen, nHeads, headDim]`. */
  out: Tensor;
  /** Forward log-sum-exp `[batch, nHeads, seqlen]`. */
  lse: Tensor;
  /** Gradient of `out`. */
  dout: Tensor;
  /** Gradient of `lse` (zeros when absent). */
  dlse?: Tensor;
}

/** Sum `[b, H, n, hd]` over the query heads of each KV group → `[b, n, Hkv, hd]`. */
function groupSum(x: Tensor, nKv: number): Tensor {
  const [b, h, n, d] = dims(x);
  return tf.transpose(tf.sum(tf.reshape(x, [b, nKv, h / nKv, n, d]), 2), [0, 2, 1, 3]);
}

/** Gradients of q, k, v. @returns `dq` like q, `dk`/`dv` like k/v */
export function flashAttentionBackwardReference(t: AttentionBackwardTensors, attrs: AttentionAttrs): { dq: Tensor; dk: Tensor; dv: Tensor } {
  return tf.tidy(() => {
    const nHeads = dims(t.q)[2];
    const nKv = dims(t.k)[2];
    const qt = tf.transpose(t.q, [0, 2, 1, 3]);
    const kt = tf.transpose(expandKvHeads(t.k, nHeads), [0, 2, 1, 3]);
    const vt = tf.transpose(expandKvHeads(t.v, nHeads), [0, 2, 1, 3]);
    const dot = tf.transpose(t.dout, [0, 2, 1, 3]);
    const { bias } = scoreBias(t, attrs);
    const s = tf.add(tf.mul(tf.matMul(qt, kt, false, true), attrs.scale), bias);
    const lseSafe = tf.where(tf.isFinite(t.lse), t.lse, tf.zerosLike(t.lse)); // rows that see no key: p = exp(−1e30) = 0
    const p = tf.exp(tf.sub(s, tf.expandDims(lseSafe, -1)));
    let d = tf.transpose(tf.sum(tf.mul(t.dout, t.out), -1), [0, 2, 1]); // [b, H, l]
    if (t.dlse) d = tf.sub(d, t.dlse);
    const dv = tf.matMul(p, dot, true, false);
    const dp = tf.matMul(dot, vt, false, true);
    const ds = tf.mul(p, tf.sub(dp, tf.expandDims(d, -1)));
    const dq = tf.transpose(tf.mul(tf.matMul(ds, kt), attrs.scale), [0, 2, 1, 3]);
    const dk = tf.mul(tf.matMul(ds, qt, true, false), attrs.scale);
    return { dq, dk: groupSum(dk, nKv), dv: groupSum(dv, nKv) };
  });
}

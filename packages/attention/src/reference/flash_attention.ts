/**
 * Reference attention, the definition of correct for every attention kernel of this package:
 * `softmax(q·kᵀ·scale + alibi + mask)·v` with grouped-query heads, materialising the full
 * `[batch, nHeads, seqlen, seqlenK]` score matrix, written with differentiable tfjs ops.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from '../attention_attrs.js';
import { alibiBiasReference } from './alibi_bias.js';
import { additiveMask } from './mask.js';
import { dims } from '../validate.js';

/** Inputs of the reference attention (shapes as in `flashAttention`). */
export interface AttentionTensors {
  /** `[batch, seqlen, nHeads, headDim]` */
  q: Tensor;
  /** `[batch, seqlenK, nKvHeads, headDim]` */
  k: Tensor;
  /** `[batch, seqlenK, nKvHeads, headDim]` */
  v: Tensor;
  /** `[nHeads]` */
  alibiSlopes?: Tensor;
  /** `[batch, seqlenK]`, 1 keep / 0 masked */
  keyPaddingMask?: Tensor;
  /** int32 `[nSeqs + 1]` */
  cuSeqlens?: Tensor;
}

/** Repeat KV heads so that query head h reads KV head ⌊h / (nHeads / nKvHeads)⌋. `[b, lk, Hkv, hd] → [b, lk, H, hd]` */
export function expandKvHeads(x: Tensor, nHeads: number): Tensor {
  const nKv = dims(x)[2];
  const g = nHeads / nKv;
  if (g === 1) return x;
  const idx = tf.tensor1d(Array.from({ length: nHeads }, (_, h) => Math.floor(h / g)), 'int32');
  return tf.gather(x, idx, 2);
}

/** The additive mask (alibi bias + masking) `[batch, nHeads or 1, seqlen, seqlenK]` and the valid rows `[batch, 1, seqlen, 1]`. */
export function scoreBias(t: AttentionTensors, attrs: AttentionAttrs): { bias: Tensor; rowValid: Tensor } {
  const [batch, l] = dims(t.q);
  const lk = dims(t.k)[1];
  const { mask, rowValid } = additiveMask(
    { seqlenQ: l, seqlenK: lk, causal: attrs.causal, windowLeft: attrs.windowLeft, windowRight: attrs.windowRight, cuSeqlens: t.cuSeqlens?.dataSync() },
    batch,
    t.keyPaddingMask,
  );
  const bias = t.alibiSlopes ? tf.add(mask, alibiBiasReference(t.alibiSlopes, l, lk)) : mask;
  return { bias, rowValid };
}

/**
 * Reference attention forward.
 * @returns `out` `[batch, seqlen, nHeads, headDim]` and `lse` `[batch, nHeads, seqlen]` (−∞ for rows that see no key)
 */
export function flashAttentionReference(t: AttentionTensors, attrs: AttentionAttrs): { out: Tensor; lse: Tensor } {
  return tf.tidy(() => {
    const nHeads = dims(t.q)[2];
    const qt = tf.transpose(t.q, [0, 2, 1, 3]);
    const kt = tf.transpose(expandKvHeads(t.k, nHeads), [0, 2, 1, 3]);
    const vt = tf.transpose(expandKvHeads(t.v, nHeads), [0, 2, 1, 3]);
    const { bias, rowValid } = scoreBias(t, attrs);
    const s = tf.add(tf.mul(tf.matMul(qt, kt, false, true), attrs.scale), bias); // [b, H, l, lk]
    const p = tf.softmax(s);
    const out = tf.transpose(tf.mul(tf.matMul(p, vt), rowValid), [0, 2, 1, 3]);
    const lseAll = tf.logSumExp(s, -1); // [b, H, l]
    const valid = tf.cast(tf.reshape(rowValid, [dims(rowValid)[0], 1, -1]), 'bool');
    const lse = tf.where(tf.broadcastTo(valid, lseAll.shape), lseAll, tf.fill(lseAll.shape, -Infinity));
    return { out, lse };
  });
}

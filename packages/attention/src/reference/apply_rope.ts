/**
 * Reference RoPE, written plainly with tfjs ops as transformers applies it: angle = position ·
 * inv_freq (float32), cos/sin of `[freqs, freqs]` times the attention scaling, and
 * `x·cos + rotate_half(x)·sin` on the first rotaryDim dims (half-split convention); the other dims
 * pass through. `inverse` rotates by −angle (the transpose, used by the gradient).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { RopeAttrs } from '../apply_rope_signature.js';

/** RoPE of x `[batch, seqlen, heads, headDim]` at int32 positions `[batch, seqlen]` or `[seqlen]`. */
export function applyRopeReference(x: Tensor, positions: Tensor, attrs: RopeAttrs): Tensor {
  return tf.tidy(() => {
    const [, l, , d] = x.shape;
    const half = attrs.invFreq.length;
    const rd = 2 * half;
    const pos = tf.reshape(tf.cast(positions, 'float32'), [positions.rank === 2 ? positions.shape[0] : 1, l, 1]);
    const freqs = tf.mul(pos, tf.tensor1d(attrs.invFreq, 'float32'));
    const emb = tf.expandDims(tf.concat([freqs, freqs], -1), 2); // [b, l, 1, rd]
    const cos = tf.mul(tf.cos(emb), attrs.attentionScaling);
    const sin = tf.mul(tf.sin(emb), attrs.inverse ? -attrs.attentionScaling : attrs.attentionScaling);
    const xr = rd === d ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, rd]);
    const x1 = tf.slice(xr, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(xr, [0, 0, 0, half], [-1, -1, -1, half]);
    const rotated = tf.concat([tf.neg(x2), x1], -1);
    const y = tf.add(tf.mul(xr, cos), tf.mul(rotated, sin));
    return rd === d ? y : tf.concat([y, tf.slice(x, [0, 0, 0, rd], [-1, -1, -1, d - rd])], -1);
  });
}

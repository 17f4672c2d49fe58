/**
 * The reference RMSNorm, written plainly from the spec with tfjs ops (differentiable by tfjs
 * autodiff): `y = w * x / sqrt(mean(x², last dim) + eps)`, in float32. This is the definition of
 * correct that every `rmsNorm` kernel is tested against, and what backends without a kernel run.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Reference RMSNorm over the last dim.
 *
 * @param x - `[..., dim]`, float32
 * @param weight - `[dim]`, or the trailing dims of `x` (e.g. `[groups, dim]` for group-wise RMSNorm)
 * @param eps - added to the mean square before the square root
 * @returns `[..., dim]`, like `x`
 */
export function rmsNormReference(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(weight, tf.mul(x, tf.rsqrt(tf.add(ms, eps))));
  });
}

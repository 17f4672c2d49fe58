/**
 * The reference RMSNorm backward, in tfjs ops: with r = 1/sqrt(mean(x²) + eps), x̂ = x·r and
 * g = dy·w, `dx = r·(g − x̂·mean(g·x̂))` (per row) and `dw = Σ_rows dy·x̂` (per weight element).
 * Runs on backends without a backward kernel; tests check it against tfjs autodiff of the reference.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Reference gradients of RMSNorm.
 *
 * @param dy - `[..., dim]`, gradient of the loss with respect to the output
 * @param x - `[..., dim]`, the forward input
 * @param weight - `[dim]` or the trailing dims of `x`
 * @param eps - as in the forward
 * @returns `dx` (`[..., dim]`) and `dw` (shape of `weight`)
 */
export function rmsNormBackwardReference(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): { dx: tf.Tensor; dw: tf.Tensor } {
  return tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    const xhat = tf.mul(x, r);
    const g = tf.mul(dy, weight);
    const dx = tf.mul(r, tf.sub(g, tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
    const dw = tf.sum(tf.reshape(tf.mul(dy, xhat), [-1, ...weight.shape]), 0);
    return { dx, dw };
  });
}

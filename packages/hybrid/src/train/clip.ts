/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (on the host, or kept on the device). */
import { clipCoefficient, sumInOrder, tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';

/**
 * Scale every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the L2 norm over all of them.
 * Reads the norm back to the host; a training step uses {@link globalNormClip} instead.
 * @returns the clipped gradients (new tensors) and the norm before clipping
 */
export function clipByGlobalNorm(grads: Record<string, Tensor>, maxNorm: number): { grads: Record<string, Tensor>; norm: number } {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  const norm = tf.tidy(() => {
    const parts = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return parts.length ? tf.sqrt(sumInOrder(parts)).dataSync()[0] : 0;
  });
  const scale = Math.min(1, maxNorm / (norm + 1e-6));
  const out: Record<string, Tensor> = {};
  for (const [k, g] of Object.entries(grads)) out[k] = scale < 1 ? tf.mul(g, scale) : tf.clone(g);
  return { grads: out, norm };
}

/**
 * The global L2 norm of all gradients, as a scalar tensor on the device (nothing is read back).
 * @param grads - the gradients (any shapes)
 * @returns ‖g‖ = √(Σ Σ g²) (0 when there are none)
 */
export function globalGradNorm(grads: Record<string, Tensor>): Scalar {
  return tf.tidy(() => {
    const parts = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    if (parts.length === 0) return tf.scalar(0);
    return tf.sqrt(sumInOrder(parts)) as Scalar;
  });
}

/**
 * Global-norm clipping kept on the device: the norm and the coefficient
 * `min(1, maxNorm / (‖g‖ + 1e-6))` (`clipCoefficient` of @falcon/tensor) as scalar tensors, to be
 * multiplied into the gradients by the optimizer (`AdamW.step`'s `gradScale`, fused into its
 * update) — no read to the host, no scaled copy of the gradients. Equals {@link clipByGlobalNorm}
 * up to float32 rounding of the coefficient.
 * @param grads - the gradients (any shapes)
 * @param maxNorm - the largest norm allowed (> 0)
 */
export function globalNormClip(grads: Record<string, Tensor>, maxNorm: number): { norm: Scalar; scale: Scalar } {
  if (!(maxNorm > 0)) throw new Error(`globalNormClip: maxNorm must be positive, got ${maxNorm}`);
  const norm = globalGradNorm(grads);
  return { norm, scale: clipCoefficient(norm, maxNorm) as Scalar };
}

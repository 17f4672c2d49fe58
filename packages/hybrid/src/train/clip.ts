/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * Scale every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the L2 norm over all of them.
 * @returns the clipped gradients (new tensors) and the norm before clipping
 */
export function clipByGlobalNorm(grads: Record<string, Tensor>, maxNorm: number): { grads: Record<string, Tensor>; norm: number } {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  const norm = tf.tidy(() => {
    const parts = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return parts.length ? tf.sqrt(tf.addN(parts)).dataSync()[0] : 0;
  });
  const scale = Math.min(1, maxNorm / (norm + 1e-6));
  const out: Record<string, Tensor> = {};
  for (const [k, g] of Object.entries(grads)) out[k] = scale < 1 ? tf.mul(g, scale) : tf.clone(g);
  return { grads: out, norm };
}

/**
 * `clipCoefficient`: the factor global-norm gradient clipping multiplies every gradient by,
 * `min(1, maxNorm / (‖g‖ + 1e-6))` (`torch.nn.utils.clip_grad_norm_`), computed on the device from
 * the norm tensor so that clipping reads nothing back to the host. One definition for every trainer
 * (@falcon/hybrid's, @falcon/parallel's sharded optimizer), so that they clip to the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { opCheck } from './op/check.js';

/**
 * The clip coefficient `min(1, maxNorm / (norm + 1e-6))`, in float32 on the norm's backend.
 *
 * @example
 * ```ts
 * const scale = clipCoefficient(globalNorm, 1.0); // multiply the gradients by it (or pass it to adamwStep)
 * ```
 * @param norm - the global L2 norm of the gradients: a float32 tensor of one element (`[]` or `[1]`)
 * @param maxNorm - the largest norm allowed (> 0, finite)
 * @returns a float32 tensor of norm's shape
 * @throws OpArgumentError when norm is not one float32 value or maxNorm is not a positive finite number
 */
export function clipCoefficient(norm: tf.Tensor, maxNorm: number): tf.Tensor {
  const c = opCheck('clipCoefficient');
  const shape = c.arg('norm').tensor(norm, { dims: ['...'] });
  if (shape.reduce((a, b) => a * b, 1) !== 1) c.arg('norm').fail(`must hold one value, got shape ${c.shape(shape)}`);
  c.arg('maxNorm').number(maxNorm, { above: 0, finite: true });
  return tf.tidy(() => tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)), 1));
}

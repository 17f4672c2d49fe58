/**
 * `sumInOrder`: the sum of same-shaped tensors, added one after the other.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `parts[0] + parts[1] + …`, added left to right. This is the order, and so the rounding, of
 * `tf.addN` on cpu. Unlike `addN` it does not bind every input to one program. On WebGPU an addN
 * of more inputs than a shader's storage buffers (8 by default) fails validation and tfjs returns
 * zeros, so a global gradient norm read 0.
 * @param parts - at least one tensor, all of one shape
 * @returns a new tensor of that shape
 */
export function sumInOrder(parts: tf.Tensor[]): tf.Tensor {
  if (parts.length === 0) throw new Error('sumInOrder: needs at least one tensor');
  return parts.length === 1 ? tf.clone(parts[0]) : parts.reduce((a, b) => tf.add(a, b));
}

/**
 * The reference AdamW step, written with tfjs ops in PyTorch's order (the form `AdamW` of
 * @falcon/hybrid used before the fused op): g ← g·scale; m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; p ← p·(1 − lr·wd) − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
 * Every `adamwStep` kernel is tested against it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamwStepAttrs } from '../adamw_step_signature.js';
import { adamwConstants } from '../adamw_step_signature.js';

/**
 * Reference AdamW update of one parameter.
 * @param param - the parameter, any shape, float32
 * @param grad - its gradient, like param
 * @param m - first moment, like param
 * @param v - second moment, like param
 * @param attrs - see {@link AdamwStepAttrs}
 * @param gradScale - optional float32 scalar multiplying the gradient (the clip coefficient)
 * @returns the new param, m and v
 */
export function adamwStepReference(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamwStepAttrs,
  gradScale?: tf.Tensor,
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const k = adamwConstants(attrs);
  return tf.tidy(() => {
    const g = gradScale ? tf.mul(grad, tf.reshape(gradScale, [])) : grad;
    const m2 = tf.add(tf.mul(m, k.b1), tf.mul(g, k.omb1));
    const v2 = tf.add(tf.mul(v, k.b2), tf.mul(tf.square(g), k.omb2));
    const update = tf.div(tf.div(m2, k.bc1), tf.add(tf.sqrt(tf.div(v2, k.bc2)), k.eps));
    const decayed = k.decay !== 1 ? tf.mul(param, k.decay) : param;
    return { param: tf.sub(decayed, tf.mul(update, k.lr)), m: m2, v: v2 };
  });
}

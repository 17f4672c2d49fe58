/**
 * Reference of {@link activationQuant} and {@link activationQuantInt8}, plainly from the spec
 * (section 4): per-token absmax quantisation to 8 bits over the last dimension,
 * `s_x = 127 / max(max|x|, 1e-5)`, `xq = clip(round(x·s_x), −128, 127)`; the training form returns
 * `xq / s_x` with the straight-through estimator (dx = dy). Written with tfjs ops.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * The integer part: `q` (float32 values in [−128, 127], shape of x) and `scale` (`[..., 1]`).
 * @param x - activations `[..., d]` @param absMax - optional max|x| per token `[..., 1]` (default from x)
 */
export function activationQuantForward(x: Tensor, absMax?: Tensor): { q: Tensor; scale: Tensor } {
  const scale = tf.div(127, tf.maximum(absMax ?? tf.max(tf.abs(x), -1, true), 1e-5));
  const q = tf.clipByValue(tf.round(tf.mul(x, scale)), -128, 127);
  return { q, scale };
}

/**
 * @param x - activations `[..., d]` @param absMax - optional max|x| per token `[..., 1]`
 * @returns `y = xq / s_x` (shape of x; gradient dy → dx unchanged) and `scale` (`[..., 1]`, s_x)
 */
export function activationQuantReference(x: Tensor, absMax?: Tensor): { y: Tensor; scale: Tensor } {
  const scale = tf.tidy(() => activationQuantForward(x, absMax).scale);
  const ste = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as Tensor;
    (args[1] as tf.GradSaveFunc)([]);
    return {
      value: tf.tidy(() => {
        const { q, scale: s } = activationQuantForward(xIn, absMax);
        return tf.div(q, s);
      }),
      gradFunc: (dy: Tensor) => dy,
    };
  });
  return { y: ste(x), scale };
}

/**
 * @param x - activations `[..., d]` @param absMax - optional max|x| per token `[..., 1]`
 * @returns `q` (int32, shape of x, values in [−128, 127]) and `scale` (`[..., 1]`, s_x)
 */
export function activationQuantInt8Reference(x: Tensor, absMax?: Tensor): { q: Tensor; scale: Tensor } {
  return tf.tidy(() => {
    const { q, scale } = activationQuantForward(x, absMax);
    return { q: tf.cast(q, 'int32'), scale };
  });
}

/**
 * The linear map the hybrid model's own projections use: `x @ Wᵀ + b`, or its BitNet b1.58 form
 * (per-token 8-bit activations times the absmean-ternary weight, straight-through in the backward).
 */
import { activationQuant, weightQuant } from '@falcon/bitnet';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * The BitNet b1.58 product `quant8(x) @ ternary(w)ᵀ` (straight-through in the backward).
 * @param x - `[tokens, in]`
 * @param w - `[out, in]`
 * @returns `[tokens, out]`
 */
export function bitnetMatMul(x: Tensor, w: Tensor): Tensor {
  return tf.tidy(() => tf.matMul(activationQuant(x).y, weightQuant(w).y, false, true));
}

/**
 * `y = x @ wᵀ (+ bias)` over the last dimension.
 * @param x - `[..., in]`
 * @param w - `[out, in]`
 * @param bias - `[out]`
 * @param bitnet - quantise activations and weight as BitNet b1.58 training does
 * @returns `[..., out]`
 */
export function linear(x: Tensor, w: Tensor, bias?: Tensor, bitnet = false): Tensor {
  return tf.tidy(() => {
    const inF = w.shape[1] as number;
    const lead = x.shape.slice(0, -1);
    const xq = bitnet ? activationQuant(x).y : x;
    const wq = bitnet ? weightQuant(w).y : w;
    let y = tf.matMul(tf.reshape(xq, [-1, inF]), wq, false, true);
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [...lead, w.shape[0]]);
  });
}

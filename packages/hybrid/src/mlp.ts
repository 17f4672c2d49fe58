/**
 * The SwiGLU MLP of a Falcon-H1 layer (`feed_forward`):
 * `down(up(x) · silu(gate(x) · mlp_multipliers[0])) · mlp_multipliers[1]`.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { linear } from './linear.js';

/**
 * Apply the MLP.
 * @param x - `[batch, seqlen, d]`
 * @param p - `gate_proj.weight` `[f, d]`, `up_proj.weight` `[f, d]`, `down_proj.weight` `[d, f]` (and `.bias` with mlp_bias)
 * @param multipliers - `[gate input, down output]`
 * @param bitnet - BitNet b1.58 projections
 * @returns `[batch, seqlen, d]`
 */
export function mlp(x: Tensor, p: Record<string, Variable>, multipliers: readonly [number, number], bitnet = false): Tensor {
  return tf.tidy(() => {
    const gate = tf.mul(linear(x, p['gate_proj.weight'], p['gate_proj.bias'], bitnet), multipliers[0]);
    const up = linear(x, p['up_proj.weight'], p['up_proj.bias'], bitnet);
    const h = tf.mul(up, tf.mul(gate, tf.sigmoid(gate)));
    return tf.mul(linear(h, p['down_proj.weight'], p['down_proj.bias'], bitnet), multipliers[1]);
  });
}

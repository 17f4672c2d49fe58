/**
 * The SwiGLU MLP of a Falcon-H1 layer (`feed_forward`):
 * `down(up(x) · silu(gate(x) · mlp_multipliers[0])) · mlp_multipliers[1]`.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { linear, linears } from './linear.js';
import type { LinearWeight } from './linear.js';

/** The MLP's weights (float or packed ternary) and optional biases, by name relative to `feed_forward.`. */
export interface MlpParams {
  [name: string]: LinearWeight | undefined;
}

/**
 * Apply the MLP.
 * @param x - `[batch, seqlen, d]` (or `[tokens, d]`: the output is then `[tokens, d]`)
 * @param p - `gate_proj.weight` `[f, d]`, `up_proj.weight` `[f, d]`, `down_proj.weight` `[d, f]` (and `.bias` `[f]`/`[d]` with mlp_bias)
 * @param multipliers - `[gate input, down output]`
 * @param bitnet - BitNet b1.58 projections
 * @param gateUpScale - packed gate/up: their `groupScales` (one rescale for both)
 * @returns `[batch, seqlen, d]`
 */
export function mlp(x: Tensor, p: MlpParams, multipliers: readonly [number, number], bitnet = false, gateUpScale?: Tensor): Tensor {
  const bias = (n: string) => p[`${n}_proj.bias`] as Tensor | undefined;
  return tf.tidy(() => {
    // a multiplier of exactly 1 is skipped (x·1 = x: one kernel less, same values)
    const scaled = (t: Tensor, m: number) => (m === 1 ? t : tf.mul(t, m));
    // gate and up read the same x (packed: one input quantisation for both)
    const [g, up] = linears(x, [p['gate_proj.weight']!, p['up_proj.weight']!], [bias('gate'), bias('up')], bitnet, gateUpScale);
    const gate = scaled(g, multipliers[0]);
    const h = tf.mul(up, tf.mul(gate, tf.sigmoid(gate)));
    return scaled(linear(h, p['down_proj.weight']!, bias('down'), bitnet), multipliers[1]);
  });
}

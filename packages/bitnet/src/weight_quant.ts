/**
 * `weightQuant`: BitNet b1.58 absmean ternary quantisation of a weight, for quantisation-aware
 * training. Forward: `s = 1 / max(mean|W|, 1e-5)`, `y = clip(round(W·s), −1, 1) / s` (round half to
 * even); backward: the straight-through estimator, dW = dy (as transformers' `WeightQuant`).
 * The mean|W| can be supplied from outside, so a tensor-parallel shard quantises with the scale of
 * the whole weight. Kernels: cpu, webgpu and cuda (csrc/weight_quant.cu: device reduction of
 * mean|W|, then an element-wise pass; bit-exact with the cpu kernel up to the order of the |W| sum).
 */
import { defineOp, opCheck, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { weightQuantWebgpu } from './kernels/webgpu/weight_quant.js';
import { weightQuantCpu } from './kernels/cpu/weight_quant.js';
import { weightQuantCuda } from './kernels/cuda/weight_quant.js';
import { weightQuantSignature } from './weight_quant_signature.js';
import type { WeightQuantAttrs, WeightQuantInputName, WeightQuantOptionalName, WeightQuantOutputName } from './weight_quant_signature.js';

/** Kernel name of {@link weightQuant}. */
export const WEIGHT_QUANT_OP = weightQuantSignature.name;

const op = defineOp<WeightQuantInputName, WeightQuantOptionalName, WeightQuantAttrs, WeightQuantOutputName>({
  ...weightQuantSignature,
  validate: ({ w, meanAbs }) => {
    const c = opCheck('weightQuant');
    const shape = c.arg('w').tensor(w, { dims: ['...'] });
    if (w.size === 0) c.arg('w').fail(`is empty (shape ${c.shape(shape)}); the absmean scale needs at least one element`);
    if (meanAbs) {
      const s = c.arg('meanAbs').tensor(meanAbs, { dims: ['...'] });
      if (meanAbs.size !== 1) c.arg('meanAbs').fail(`must hold one value (shape [] or [1]), got shape ${c.shape(s)}`);
    }
  },
  kernels: {
    cpu: weightQuantCpu,
    webgpu: weightQuantWebgpu,
    cuda: weightQuantCuda,
  },
  // straight-through estimator: the gradient passes through round and clip unchanged; none reaches meanAbs
  grad: ({ dy }) => ({ w: dy.y }),
});

/** Options of {@link weightQuant}. */
export interface WeightQuantOptions {
  /**
   * mean|W| of the whole weight (`[]` or `[1]`), when `w` is a shard of it (tensor parallelism:
   * the all-reduced Σ|W| divided by the global element count). Default: the mean of `|w|`.
   */
  meanAbs?: Tensor;
}

/**
 * Absmean ternary quantisation of a weight with the straight-through estimator.
 *
 * @param w - latent weight, float32, any non-empty shape (usually `[out, in]`)
 * @returns `y`: the dequantised ternary weight `Wq / s`, shape of `w` (its gradient flows to `w`
 *   unchanged); `scale`: `[1]`, the quantisation multiplier `s = 1 / max(mean|W|, 1e-5)` (what
 *   transformers' packed `BitLinear` stores as `weight_scale`)
 * @throws if `w` is not float32 or is empty, or `meanAbs` is not one float32 value
 */
export function weightQuant(w: Tensor, options: WeightQuantOptions = {}): { y: Tensor; scale: Tensor } {
  return op({ w, meanAbs: options.meanAbs }, {});
}

/**
 * The ternary values and scale of a weight (no gradient): `ternary = clip(round(W·s), −1, 1)`.
 *
 * @param w - latent weight, float32, any non-empty shape
 * @returns `ternary`: int32 tensor of the shape of `w` with values in {−1, 0, 1}; `scale`: `[1]`, s
 */
export function ternarize(w: Tensor, options: WeightQuantOptions = {}): { ternary: Tensor; scale: Tensor } {
  const { y, scale } = weightQuant(w, options);
  const ternary = tf.tidy(() => tf.cast(tf.round(tf.mul(y, scale)), 'int32'));
  y.dispose();
  return { ternary, scale };
}

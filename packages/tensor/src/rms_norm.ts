/**
 * `rmsNorm`: fused RMSNorm over the last dim, `y = w * x / sqrt(mean(x², last dim) + eps)` in
 * float32 (spec: falcon-h1.md). CPU, WebGPU and CUDA kernels, a gradient op with the same three, and
 * the tfjs-ops reference for tests. It is also the worked example of a WebGPU kernel (docs/webgpu.md).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { defineOp } from './op/define_op.js';
import { rmsNormCpu } from './kernels/cpu/rms_norm.js';
import { rmsNormCuda } from './kernels/cuda/rms_norm.js';
import { rmsNormWebgpu } from './kernels/webgpu/rms_norm.js';
import { rmsNormBackwardOp } from './rms_norm_backward.js';
import { checkRmsNormArgs, rmsNormSignature } from './rms_norm_signature.js';
import type { RmsNormAttrs, RmsNormInputName, RmsNormOutputName } from './rms_norm_signature.js';

/** The op behind {@link rmsNorm} (kernel name `FalconRmsNorm`). @internal */
export const rmsNormOp = defineOp<RmsNormInputName, never, RmsNormAttrs, RmsNormOutputName>({
  ...rmsNormSignature,
  validate: ({ x, weight }, { eps }) => checkRmsNormArgs('rmsNorm', x, weight, eps),
  kernels: {
    cpu: rmsNormCpu,
    webgpu: rmsNormWebgpu,
    cuda: rmsNormCuda,
  },
  grad: ({ dy, inputs: { x, weight }, attrs: { eps } }) => {
    const { dx, dw } = rmsNormBackwardOp({ dy: dy.y, x, weight }, { eps });
    return { x: dx, weight: dw };
  },
});

/**
 * RMSNorm over the last dim: `y = weight * x / sqrt(mean(x², last dim) + eps)`, float32.
 * Differentiable with respect to `x` and `weight` (through {@link rmsNormBackward}).
 *
 * @example
 * ```ts
 * const h = rmsNorm(hidden, normWeight, config.rms_norm_eps); // [batch, seqlen, hidden_size]
 * ```
 * @param x - `[..., dim]`, float32 (e.g. `[batch, seqlen, hidden_size]`)
 * @param weight - `[dim]`; or the trailing dims of `x`, e.g. `[groups, dim]` with x `[..., groups, dim]`
 *   for group-wise RMSNorm (each group normalised by its own RMS and scaled by its own weights)
 * @param eps - added to the mean square before the square root (`rms_norm_eps` of the config)
 * @returns `[..., dim]`, like `x`
 * @throws Error naming the argument when a dtype, shape or `eps` is wrong, before any kernel runs
 */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return rmsNormOp({ x, weight }, { eps }).y;
}

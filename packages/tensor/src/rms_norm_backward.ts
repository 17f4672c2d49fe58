/**
 * `rmsNormBackward`: the gradients of {@link rmsNorm} with respect to its input and its weight,
 * an op of its own with CPU, WebGPU and CUDA kernels.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { defineOp } from './op/define_op.js';
import { rmsNormBackwardCpu } from './kernels/cpu/rms_norm_backward.js';
import { rmsNormBackwardCuda } from './kernels/cuda/rms_norm.js';
import { rmsNormBackwardWebgpu } from './kernels/webgpu/rms_norm_backward.js';
import { checkRmsNormArgs, checkRmsNormGradient, rmsNormBackwardSignature } from './rms_norm_signature.js';
import type { RmsNormAttrs, RmsNormBackwardInputName, RmsNormBackwardOutputName } from './rms_norm_signature.js';

/** The op behind {@link rmsNormBackward} (kernel name `FalconRmsNormBackward`). @internal */
export const rmsNormBackwardOp = defineOp<RmsNormBackwardInputName, never, RmsNormAttrs, RmsNormBackwardOutputName>({
  ...rmsNormBackwardSignature,
  validate: ({ dy, x, weight }, { eps }) => {
    checkRmsNormArgs('rmsNormBackward', x, weight, eps);
    checkRmsNormGradient('rmsNormBackward', dy, x);
  },
  kernels: {
    cpu: rmsNormBackwardCpu,
    webgpu: rmsNormBackwardWebgpu,
    cuda: rmsNormBackwardCuda,
  },
});

/**
 * Gradients of `rmsNorm(x, weight, eps)` given the gradient `dy` of its output. Not itself
 * differentiable (no second derivatives).
 *
 * @param dy - `[..., dim]`, float32, gradient with respect to the output
 * @param x - `[..., dim]`, float32, the forward input
 * @param weight - `[dim]`, or the trailing dims of `x` (e.g. `[groups, dim]`), float32
 * @param eps - as in the forward
 * @returns `dx` (`[..., dim]`, like `x`) and `dw` (like `weight`: summed over every other dim)
 */
export function rmsNormBackward(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): { dx: tf.Tensor; dw: tf.Tensor } {
  return rmsNormBackwardOp({ dy, x, weight }, { eps });
}

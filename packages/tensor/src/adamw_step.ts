/**
 * `adamwStep`: one fused AdamW update of one parameter (PyTorch's AdamW, decoupled weight decay):
 * reads p, g, m, v and an optional clip coefficient held as a device scalar, and writes p', m', v'
 * in one kernel (cpu, webgpu, cuda) instead of about a dozen tfjs ops, with no read to the host.
 * The results equal the tfjs-ops reference (`adamwStepReference`) to float32 rounding.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { defineOp } from './op/define_op.js';
import { adamwStepCpu } from './kernels/cpu/adamw_step.js';
import { adamwStepCuda } from './kernels/cuda/adamw_step.js';
import { adamwStepWebgpu } from './kernels/webgpu/adamw_step.js';
import { adamwStepSignature, checkAdamwStepArgs } from './adamw_step_signature.js';
import type { AdamwStepAttrs, AdamwStepInputName, AdamwStepOptionalName, AdamwStepOutputName } from './adamw_step_signature.js';

/** The op behind {@link adamwStep} (kernel name `FalconAdamwStep`; not differentiable). @internal */
export const adamwStepOp = defineOp<AdamwStepInputName, AdamwStepOptionalName, AdamwStepAttrs, AdamwStepOutputName>({
  ...adamwStepSignature,
  validate: (inputs, attrs) => checkAdamwStepArgs('adamwStep', inputs, attrs),
  kernels: { cpu: adamwStepCpu, webgpu: adamwStepWebgpu, cuda: adamwStepCuda },
});

/** The tensors of one {@link adamwStep}. */
export interface AdamwStepTensors {
  /** The parameter, any shape, float32. */
  param: tf.Tensor;
  /** Its gradient, like param. */
  grad: tf.Tensor;
  /** First moment, like param. */
  m: tf.Tensor;
  /** Second moment, like param. */
  v: tf.Tensor;
  /** Optional float32 scalar multiplying the gradient first (the global-norm clip coefficient). */
  gradScale?: tf.Tensor;
}

/**
 * One AdamW update: with g̃ = g·gradScale, m' = β1·m + (1−β1)·g̃, v' = β2·v + (1−β2)·g̃²,
 * p' = p·(1 − lr·weightDecay) − lr·(m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) — `torch.optim.AdamW`'s step.
 * The inputs are not changed; assign the outputs to the variables.
 *
 * @example
 * ```ts
 * const r = adamwStep({ param: p, grad: g, m, v, gradScale: clip }, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: t });
 * p.assign(r.param); m.assign(r.m); v.assign(r.v);
 * ```
 * @param tensors - param, grad, m, v (one shape) and the optional gradScale
 * @param attrs - see {@link AdamwStepAttrs}
 * @returns the new param, m and v (shape of param)
 * @throws OpArgumentError naming the argument when a shape, dtype or attribute is wrong, before any kernel runs
 */
export function adamwStep(tensors: AdamwStepTensors, attrs: AdamwStepAttrs): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const { param, grad, m, v, gradScale } = tensors;
  const r = adamwStepOp({ param, grad, m, v, gradScale }, attrs);
  return { param: r.paramOut, m: r.mOut, v: r.vOut };
}

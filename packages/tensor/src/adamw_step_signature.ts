/**
 * The signature of `FalconAdamwStep`, shared by the op and its kernels: kernel name, input and
 * output names, attributes, the float32 constants every kernel uses (computed once on the host, so
 * that every backend multiplies by the same values), and the argument checks.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { opCheck } from './op/check.js';

/** Kernel name, inputs and outputs of `FalconAdamwStep`, in order. @internal */
export const adamwStepSignature = {
  name: 'FalconAdamwStep',
  /** param, grad, m, v, all of one shape */
  inputs: ['param', 'grad', 'm', 'v'],
  /** gradScale: a float32 scalar multiplying the gradient (the clip coefficient) */
  optionalInputs: ['gradScale'],
  /** the updated param, m and v */
  outputs: ['paramOut', 'mOut', 'vOut'],
} as const;

/** Inputs of `FalconAdamwStep`. @internal */
export type AdamwStepInputName = (typeof adamwStepSignature.inputs)[number];
/** Optional input of `FalconAdamwStep`. @internal */
export type AdamwStepOptionalName = (typeof adamwStepSignature.optionalInputs)[number];
/** Outputs of `FalconAdamwStep`. @internal */
export type AdamwStepOutputName = (typeof adamwStepSignature.outputs)[number];

/** Attributes of `FalconAdamwStep` (PyTorch's AdamW with decoupled weight decay). */
export interface AdamwStepAttrs {
  /** Learning rate of this parameter in this step (after any group multiplier); ≥ 0. */
  lr: number;
  /** β1 in [0, 1). */
  beta1: number;
  /** β2 in [0, 1). */
  beta2: number;
  /** ε added to √v̂; ≥ 0. */
  eps: number;
  /** Decoupled weight decay of this parameter (after any group multiplier): p ← p·(1 − lr·weightDecay). */
  weightDecay: number;
  /** The 1-based step number t (bias corrections 1 − βᵗ). */
  step: number;
}

/**
 * The constants of the update, each rounded to float32 where the kernels use it: the values the
 * tfjs-ops form (`adamwStepReference`) multiplies by. `decay` is 1 when weightDecay is 0.
 * @internal
 */
export interface AdamwConstants {
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  bc1: number;
  bc2: number;
  eps: number;
  lr: number;
  decay: number;
}

/** The float64 constants (1 − β, 1 − βᵗ, 1 − lr·wd), as the host computes them. @internal */
export function adamwConstants(a: AdamwStepAttrs): AdamwConstants {
  return {
    b1: a.beta1,
    omb1: 1 - a.beta1,
    b2: a.beta2,
    omb2: 1 - a.beta2,
    bc1: 1 - a.beta1 ** a.step,
    bc2: 1 - a.beta2 ** a.step,
    eps: a.eps,
    lr: a.lr,
    decay: a.weightDecay !== 0 ? 1 - a.lr * a.weightDecay : 1,
  };
}

/**
 * Throw unless the inputs and attributes are a valid AdamW step: param, grad, m, v float32 of one
 * shape; gradScale (if given) a float32 tensor of one element; lr ≥ 0, β in [0, 1), eps ≥ 0,
 * weightDecay finite, step a positive integer.
 * @internal
 */
export function checkAdamwStepArgs(op: string, inputs: Partial<Record<AdamwStepInputName | AdamwStepOptionalName, tf.Tensor>>, attrs: AdamwStepAttrs): void {
  const c = opCheck(op);
  const shape = c.arg('param').tensor(inputs.param, { dims: ['...'] });
  for (const k of ['grad', 'm', 'v'] as const) {
    const s = c.arg(k).tensor(inputs[k], { dims: ['...'] });
    if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) c.arg(k).fail(`has shape ${c.shape(s)}, expected param's shape ${c.shape(shape)}`);
  }
  const gs = c.arg('gradScale').tensor(inputs.gradScale, { dims: ['...'], optional: true });
  if (inputs.gradScale && gs.reduce((a, b) => a * b, 1) !== 1) c.arg('gradScale').fail(`must hold one value (a scalar), got shape ${c.shape(gs)}`);
  if (attrs === null || typeof attrs !== 'object') c.fail(`attributes must be an object, got ${String(attrs)}`);
  c.attr('lr').number(attrs.lr, { min: 0, finite: true });
  c.attr('beta1').number(attrs.beta1, { min: 0, below: 1 });
  c.attr('beta2').number(attrs.beta2, { min: 0, below: 1 });
  c.attr('eps').number(attrs.eps, { min: 0, finite: true });
  c.attr('weightDecay').number(attrs.weightDecay, { finite: true });
  c.attr('step').positiveInt(attrs.step);
}

/**
 * The signature of `FalconRmsNorm` and `FalconRmsNormBackward`, shared by the ops and their kernels:
 * kernel names, input and output names, attributes, and the argument checks (clear errors before
 * any kernel runs).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { opCheck } from './op/check.js';
import type { CheckStyle } from './op/check.js';

/** Kernel name, inputs and outputs of `FalconRmsNorm`, in order. @internal */
export const rmsNormSignature = {
  name: 'FalconRmsNorm',
  /** x `[..., dim]`, weight `[dim]` or trailing dims of x */
  inputs: ['x', 'weight'],
  /** y, like x */
  outputs: ['y'],
} as const;

/** Kernel name, inputs and outputs of `FalconRmsNormBackward`, in order. @internal */
export const rmsNormBackwardSignature = {
  name: 'FalconRmsNormBackward',
  /** dy (like x), x, weight */
  inputs: ['dy', 'x', 'weight'],
  /** dx (like x), dw (like weight) */
  outputs: ['dx', 'dw'],
} as const;

/** Inputs of `FalconRmsNorm`. @internal */
export type RmsNormInputName = (typeof rmsNormSignature.inputs)[number];
/** Outputs of `FalconRmsNorm`. @internal */
export type RmsNormOutputName = (typeof rmsNormSignature.outputs)[number];
/** Inputs of `FalconRmsNormBackward`. @internal */
export type RmsNormBackwardInputName = (typeof rmsNormBackwardSignature.inputs)[number];
/** Outputs of `FalconRmsNormBackward`. @internal */
export type RmsNormBackwardOutputName = (typeof rmsNormBackwardSignature.outputs)[number];

/** Attributes of both ops. @internal */
export interface RmsNormAttrs {
  /** Added to the mean square before the square root. */
  eps: number;
}

/** How the rmsNorm ops word their errors: bare names (`x must be float32`), shapes as `[2,8]`. */
const STYLE: CheckStyle = { bare: ['argument', 'attribute'], shapeSeparator: ',' };

/**
 * Throw unless x, weight and eps are valid RMSNorm arguments: x float32 `[..., dim]` with dim ≥ 1,
 * weight float32 `[dim]` or trailing dims of x, eps finite and ≥ 0. `op` names the caller.
 * @internal
 */
export function checkRmsNormArgs(op: string, x: tf.Tensor, weight: tf.Tensor, eps: number): void {
  const c = opCheck(op, STYLE);
  const ax = c.arg('x');
  if (x?.rank === 0) ax.fail('must have at least 1 dim ([..., dim]), got a scalar');
  const shape = ax.tensor(x, { dims: ['...', 'dim'] });
  const dim = shape[shape.length - 1];
  c.require(dim >= 1, () => `the last dim of x must be at least 1, got shape ${c.shape(shape)}`);
  const aw = c.arg('weight');
  const wshape = aw.tensor(weight, { dims: ['...', 'dim'] });
  const trailing = shape.slice(shape.length - wshape.length);
  if (wshape.length > shape.length || trailing.some((d, i) => d !== wshape[i])) {
    aw.fail(`has shape ${c.shape(wshape)}, expected [${dim}] or trailing dims of x's shape ${c.shape(shape)}`);
  }
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) c.attr('eps').fail(`must be a finite number ≥ 0, got ${eps}`);
}

/**
 * Throw unless dy is a valid gradient of `rmsNorm(x, ...)`: float32, of x's shape. Call after
 * {@link checkRmsNormArgs}.
 * @internal
 */
export function checkRmsNormGradient(op: string, dy: tf.Tensor, x: tf.Tensor): void {
  const c = opCheck(op, STYLE);
  const ady = c.arg('dy');
  const shape = ady.tensor(dy, { dims: ['...', 'dim'] });
  if (shape.length !== x.rank || shape.some((d, i) => d !== x.shape[i])) ady.fail(`has shape ${c.shape(shape)}, expected x's shape ${c.shape(x.shape)}`);
}

/**
 * The signature of `FalconRmsNorm` and `FalconRmsNormBackward`, shared by the ops and their kernels:
 * kernel names, input and output names, attributes, and the argument checks (clear errors before
 * any kernel runs).
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Kernel name of the forward op. @internal */
export const RMS_NORM = 'FalconRmsNorm';
/** Kernel name of the backward op. @internal */
export const RMS_NORM_BACKWARD = 'FalconRmsNormBackward';

/** Inputs of `FalconRmsNorm`: x `[..., dim]`, weight `[dim]` or trailing dims of x. @internal */
export type RmsNormInputName = 'x' | 'weight';
/** Output of `FalconRmsNorm`: y, like x. @internal */
export type RmsNormOutputName = 'y';
/** Inputs of `FalconRmsNormBackward`: dy (like x), x, weight. @internal */
export type RmsNormBackwardInputName = 'dy' | 'x' | 'weight';
/** Outputs of `FalconRmsNormBackward`: dx (like x), dw (like weight). @internal */
export type RmsNormBackwardOutputName = 'dx' | 'dw';

/** Attributes of both ops. @internal */
export interface RmsNormAttrs {
  /** Added to the mean square before the square root. */
  eps: number;
}

/** Throw unless x, weight and eps are valid RMSNorm arguments; `op` names the caller. @internal */
export function checkRmsNormArgs(op: string, x: tf.Tensor, weight: tf.Tensor, eps: number): void {
  if (x.dtype !== 'float32') throw new Error(`${op}: x must be float32, got ${x.dtype}`);
  if (weight.dtype !== 'float32') throw new Error(`${op}: weight must be float32, got ${weight.dtype}`);
  if (x.rank < 1) throw new Error(`${op}: x must have at least 1 dim ([..., dim]), got a scalar`);
  const dim = x.shape[x.rank - 1];
  if (dim < 1) throw new Error(`${op}: the last dim of x must be at least 1, got shape [${x.shape}]`);
  const trailing = x.shape.slice(x.rank - weight.rank);
  if (weight.rank < 1 || weight.rank > x.rank || trailing.some((d, i) => d !== weight.shape[i])) {
    throw new Error(`${op}: weight has shape [${weight.shape}], expected [${dim}] or trailing dims of x's shape [${x.shape}]`);
  }
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new Error(`${op}: eps must be a finite number ≥ 0, got ${eps}`);
}

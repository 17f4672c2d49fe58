/** Argument checks shared by `rmsNorm` and `rmsNormBackward`: clear errors before any kernel runs. */
import type * as tf from '@tensorflow/tfjs-core';

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

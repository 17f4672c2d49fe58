/**
 * Reference of `gatedRmsNorm` in tfjs ops, written as transformers' `FalconH1RMSNormGated`
 * (optional gate first, group-wise RMS, weight, optional gate after); differentiable by autodiff.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { GatedRmsNormOptions } from '../gated_rms_norm.js';
import { siluReference } from './ssd_recurrence.js';

/**
 * The gated group-wise RMSNorm (same arguments and result as `gatedRmsNorm`).
 * @param x - `[..., dim]`
 * @param weight - `[dim]`
 * @returns y, same shape as x
 */
export function gatedRmsNormReference(x: Tensor, weight: Tensor, options: GatedRmsNormOptions = {}): Tensor {
  const { z, eps = 1e-6, ngroups = 1, normBeforeGate = true } = options;
  const shape = x.shape;
  const dim = shape[shape.length - 1];
  let u = z && !normBeforeGate ? tf.mul(x, siluReference(z)) : x;
  u = tf.reshape(u, [...shape.slice(0, -1), ngroups, dim / ngroups]);
  const variance = tf.mean(tf.square(u), -1, true);
  u = tf.mul(u, tf.rsqrt(tf.add(variance, eps)));
  let y = tf.mul(tf.reshape(weight, [ngroups, dim / ngroups]), u);
  y = tf.reshape(y, shape);
  if (z && normBeforeGate) y = tf.mul(y, siluReference(z));
  return y;
}

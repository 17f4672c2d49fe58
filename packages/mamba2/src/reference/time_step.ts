/**
 * Reference time step in tfjs ops: `Δ = clamp(softplus?(dt + dtBias), dtLimit)`, differentiable by
 * tfjs autodiff. Used by the SSD references.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { TimeStepAttrs } from '../time_step.js';
import { clampsTimeStep } from '../time_step.js';

/**
 * Δ from the raw dt.
 * @param dt - `[..., nheads]`
 * @param dtBias - `[nheads]` or undefined
 * @returns Δ, same shape as `dt`
 * @internal
 */
export function timeStepReference(dt: Tensor, dtBias: Tensor | undefined, attrs: TimeStepAttrs): Tensor {
  let v = dtBias ? tf.add(dt, dtBias) : dt;
  if (attrs.dtSoftplus) v = tf.softplus(v);
  if (clampsTimeStep(attrs)) v = tf.clipByValue(v, attrs.dtLimitMin, attrs.dtLimitMax);
  return v;
}

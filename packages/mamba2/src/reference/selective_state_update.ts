/**
 * Reference of `selectiveStateUpdate` in tfjs ops (one step of the spec's recurrence),
 * differentiable by tfjs autodiff.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor3D, Tensor4D } from '@falcon/tensor';
import type { SelectiveStateUpdateOptions, SelectiveStateUpdateResult } from '../selective_state_update.js';
import { timeStepAttrs } from '../time_step.js';
import { expandGroups, recurrenceStep, siluReference } from './ssd_recurrence.js';
import { timeStepReference } from './time_step.js';

/**
 * One decode step (same arguments and result as `selectiveStateUpdate`).
 * @param state - `[batch, nheads, headdim, dstate]`
 * @param x - `[batch, nheads, headdim]`
 * @param dt - `[batch, nheads]`
 * @param A - `[nheads]`
 * @param B - `[batch, ngroups, dstate]`
 * @param C - `[batch, ngroups, dstate]`
 * @returns y `[batch, nheads, headdim]` and the new state
 */
export function selectiveStateUpdateReference(
  state: Tensor,
  x: Tensor,
  dt: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveStateUpdateOptions = {},
): SelectiveStateUpdateResult {
  const h = x.shape[1] as number;
  const delta = timeStepReference(dt, options.dtBias, timeStepAttrs('selectiveStateUpdateReference', options));
  const r = recurrenceStep(state, x, delta, tf.exp(tf.mul(delta, A)), expandGroups(B, h), expandGroups(C, h));
  let y = r.y;
  if (options.D) y = tf.add(y, tf.mul(x, tf.reshape(options.D, [h, 1])));
  if (options.z) y = tf.mul(y, siluReference(options.z));
  return { y: y as Tensor3D, state: r.S as Tensor4D };
}

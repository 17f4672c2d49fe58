/**
 * One step of the SSD recurrence in tfjs ops, shared by the references of the scan and of the
 * decode step: `S ← decay·S + Δ·x⊗B`, `y = S·C` (per batch and head).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * Repeat each group's `[..., ngroups, dstate]` slice for the heads of the group.
 * @param t - `[..., ngroups, dstate]`
 * @returns `[..., nheads, dstate]` (head i reads group `i / (nheads/ngroups)`)
 * @internal
 */
export function expandGroups(t: Tensor, nheads: number): Tensor {
  const axis = t.rank - 2;
  const g = t.shape[axis] as number;
  const groupOfHead = Array.from({ length: nheads }, (_, i) => Math.floor(i / (nheads / g)));
  return tf.gather(t, tf.tensor1d(groupOfHead, 'int32'), axis);
}

/**
 * One recurrence step.
 * @param S - `[batch, nheads, headdim, dstate]`
 * @param x - `[batch, nheads, headdim]`
 * @param delta - Δ `[batch, nheads]`
 * @param decay - `exp(Δ·A)` (times 0 where the state restarts) `[batch, nheads]`
 * @param B - `[batch, nheads, dstate]` (expanded to heads)
 * @param C - `[batch, nheads, dstate]`
 * @returns the new state and `y = S·C` `[batch, nheads, headdim]`
 * @internal
 */
export function recurrenceStep(S: Tensor, x: Tensor, delta: Tensor, decay: Tensor, B: Tensor, C: Tensor): { S: Tensor; y: Tensor } {
  const [b, h] = delta.shape as number[];
  const n = B.shape[2] as number;
  const dx = tf.mul(x, tf.reshape(delta, [b, h, 1]));
  const next = tf.add(tf.mul(S, tf.reshape(decay, [b, h, 1, 1])), tf.mul(tf.expandDims(dx, 3), tf.reshape(B, [b, h, 1, n])));
  const y = tf.sum(tf.mul(next, tf.reshape(C, [b, h, 1, n])), 3);
  return { S: next, y };
}

/** `x·sigmoid(x)`. @internal */
export function siluReference(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Works around a gap in `@falcon/tensor`'s defineOp: inside a gradient, an absent optional input
 * arrives as the empty `[0]` placeholder tensor rather than `undefined` (tfjs saves clones of the
 * inputs for the backward pass, and the clones are not recognised as placeholders). No input of
 * this package's ops can legitimately be empty, so empty tensors are taken as absent here.
 */
import type { Tensor } from '@falcon/tensor';

/** The inputs with every empty tensor replaced by `undefined`. @internal */
export function presentInputs<T extends Record<string, Tensor | undefined>>(inputs: T): T {
  const out: Record<string, Tensor | undefined> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = v && v.size > 0 ? v : undefined;
  return out as T;
}

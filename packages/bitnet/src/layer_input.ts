/** The input check of the BitNet layers' forward (`BitLinear`, `PackedBitLinear`). */
import { opCheck, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * Check a layer input: a float32 tensor `[..., inFeatures]`.
 * @param fn - the method, e.g. `BitLinear.forward` @param x - the input @param inFeatures - K
 * @internal
 */
export function checkLayerInput(fn: string, x: Tensor, inFeatures: number): void {
  const c = opCheck(fn);
  if (!(x instanceof tf.Tensor) || x.dtype !== 'float32') c.arg('x').fail('must be a float32 tensor');
  if (x.rank < 1 || x.shape[x.rank - 1] !== inFeatures) c.arg('x').fail(`has shape ${c.shape(x.shape)}, expected [..., ${inFeatures}] (inFeatures)`);
}

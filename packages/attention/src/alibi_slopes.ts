/**
 * ALiBi slopes: the geometric sequence `2^(−8i/H)` for i = 1…H when H is a power of two, and the
 * standard fix otherwise (the slopes of the nearest lower power of two, then every other slope of
 * the next power of two), as in the ALiBi paper and transformers' BLOOM.
 */
import { tf } from '@falcon/tensor';
import type { Tensor1D } from '@falcon/tensor';
import { check } from './validate.js';

/**
 * The ALiBi slope of every attention head.
 * @param nHeads - number of query heads `nHeads` (≥ 1)
 * @returns float32 `[nHeads]`
 */
export function alibiSlopes(nHeads: number): Tensor1D {
  check('alibiSlopes').arg('nHeads').int(nHeads, { min: 1 });
  const closest = 2 ** Math.floor(Math.log2(nHeads));
  const base = 2 ** (-8 / closest);
  const slopes: number[] = [];
  for (let i = 1; i <= closest; i++) slopes.push(base ** i);
  if (closest !== nHeads) {
    const extraBase = 2 ** (-4 / closest);
    const rest = Math.min(closest, nHeads - closest);
    for (let i = 0; i < rest; i++) slopes.push(extraBase ** (2 * i + 1));
  }
  return tf.tensor1d(slopes, 'float32');
}

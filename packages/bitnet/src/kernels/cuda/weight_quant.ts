/**
 * `cuda` kernel of {@link weightQuant} (csrc/weight_quant.cu): mean|W| reduced on the device (float64
 * partial sums of up to {@link WEIGHT_QUANT_MAX_PARTIALS} blocks in scratch, then one block), or the
 * given `meanAbs`; then one element-wise pass. No host read; bit-exact with the cpu kernel except
 * that the float64 sum of |W| is taken in another order (see the .cu header).
 */
import { cudaKernel } from '@falcon/tensor';
import type { BitnetFunctions } from './addon.js';
import { bitnetCuda, sizeOf } from './addon.js';

/** Most blocks of the |W| partial-sum pass (each block sums a grid-stride slice). */
export const WEIGHT_QUANT_MAX_PARTIALS = 1024;

/**
 * Blocks of the partial-sum pass: one per 8192 weights, at most {@link WEIGHT_QUANT_MAX_PARTIALS}.
 * @param n - elements of the weight (≥ 1)
 * @returns the number of float64 partial sums
 */
export function weightQuantPartials(n: number): number {
  return Math.max(1, Math.min(WEIGHT_QUANT_MAX_PARTIALS, Math.ceil(n / 8192)));
}

/** Kernel: inputs `w` (f32, any non-empty shape), optional `meanAbs` (`[]`/`[1]`); outputs `y` (f32, shape of w) and `scale` (f32 `[1]`). */
export const weightQuantCuda = cudaKernel<BitnetFunctions, 'w', 'meanAbs', Record<string, never>, 'y' | 'scale'>(bitnetCuda, (addon, ctx, { w, meanAbs }) => {
  const n = sizeOf(w.shape);
  const y = ctx.output(w.shape);
  const scale = ctx.output([1]);
  const partials = meanAbs ? 0 : weightQuantPartials(n);
  // float64 partial sums: 2 float32 words each
  const scratch = partials ? ctx.scratch([2 * partials]) : 0;
  addon.weightQuant({ w: ctx.ptr(w), meanAbs: ctx.ptr(meanAbs), y: ctx.ptr(y), scale: ctx.ptr(scale), scratch, n, partials });
  return { y, scale };
});

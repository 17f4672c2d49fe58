/**
 * `cuda` kernel of {@link ternaryMatmul} (csrc/ternary_matmul.cu): x packed to int8×4 words with
 * per-token sums (scratch), then dp4a products against the 2-bit codes decoded in registers: a
 * warp-per-packed-row GEMV for ≤ 8 tokens, a 64-token × 128-output tiled kernel beyond (K split
 * with integer atomics when the tile grid is small). Exact int32 results.
 */
import { cudaKernel } from '@falcon/tensor';
import type { BitnetFunctions } from './addon.js';
import { bitnetCuda, sizeOf } from './addon.js';

/** Kernel: inputs `x` int32 `[..., K]`, `packed` int32 words; attr `outFeatures` N; output `y` int32 `[..., N]`. */
export const ternaryMatmulCuda = cudaKernel<BitnetFunctions, 'x' | 'packed', never, { outFeatures: number }, 'y'>(
  bitnetCuda,
  (addon, ctx, { x, packed }, { outFeatures: n }) => {
    const k = x.shape[x.shape.length - 1];
    const m = sizeOf(x.shape) / k;
    const y = ctx.output([...x.shape.slice(0, -1), n], 'int32');
    if (m === 0) return { y };
    const xq = ctx.scratch([m, Math.ceil(k / 4)], 'int32');
    const rowSum = ctx.scratch([m], 'int32');
    addon.ternaryMatmul({ x: ctx.ptr(x), packed: ctx.ptr(packed), y: ctx.ptr(y), xq, rowSum, m, k, n, nWords: sizeOf(packed.shape) });
    return { y };
  },
);

/**
 * The `cuda` kernel of `FalconGatedRmsNorm` (`csrc/gated_rms_norm.cu`): a warp (groups of ≤ 512
 * features) or a block of 256 threads per (row, group), y with the shape of x.
 */
import { cudaKernel } from '@falcon/tensor';
import type { GatedRmsNormAttrs } from '../../gated_rms_norm_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';

/** Rows (every leading axis) and row length of x `[..., dim]` (0 rows when dim is 0). @internal */
export function normRows(shape: number[]): { rows: number; dim: number } {
  const dim = shape[shape.length - 1];
  const size = shape.reduce((a, s) => a * s, 1);
  return { rows: dim === 0 ? 0 : size / dim, dim };
}

/** The CUDA kernel of `FalconGatedRmsNorm`: y, same shape as x `[..., dim]`. @internal */
export const gatedRmsNormCuda = cudaKernel<Mamba2Functions, 'x' | 'weight', 'z', GatedRmsNormAttrs, 'y'>(
  mamba2Cuda,
  (addon, ctx, t, { eps, ngroups, normBeforeGate }) => {
    const { rows, dim } = normRows(t.x.shape);
    const y = ctx.output(t.x.shape);
    addon.gatedRmsNorm({ x: ctx.ptr(t.x), weight: ctx.ptr(t.weight), z: ctx.ptr(t.z), y: ctx.ptr(y), rows, dim, ngroups, eps, normBeforeGate });
    return { y };
  },
);

/**
 * The `cuda` kernel of `FalconGatedRmsNormBackward` (`csrc/gated_rms_norm_backward.cu`): dx and dz
 * per (row, group) as the forward; dweight through per-team partial rows in scratch, summed over
 * the teams by a second kernel (deterministic).
 */
import { cudaKernel } from '@falcon/tensor';
import type { GatedRmsNormAttrs } from '../../gated_rms_norm_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';
import { normRows } from './gated_rms_norm.js';

/**
 * The CUDA kernel of `FalconGatedRmsNormBackward`: dx (shape of x), dweight `[dim]`, dz (shape of
 * x; `[0]` without z).
 * @internal
 */
export const gatedRmsNormBackwardCuda = cudaKernel<Mamba2Functions, 'x' | 'weight' | 'dy', 'z', GatedRmsNormAttrs, 'dx' | 'dweight' | 'dz'>(
  mamba2Cuda,
  (addon, ctx, t, { eps, ngroups, normBeforeGate }) => {
    const { rows, dim } = normRows(t.x.shape);
    const dx = ctx.output(t.x.shape);
    const dweight = ctx.output([dim]);
    const dz = ctx.output(t.z ? t.x.shape : [0]);
    const floats = addon.gatedRmsNormBackwardScratch({ rows, dim, ngroups });
    const scratch = floats > 0 ? ctx.scratch([floats]) : 0;
    addon.gatedRmsNormBackward({
      x: ctx.ptr(t.x), weight: ctx.ptr(t.weight), z: ctx.ptr(t.z), dy: ctx.ptr(t.dy), scratch,
      dx: ctx.ptr(dx), dweight: ctx.ptr(dweight), dz: ctx.ptr(dz), rows, dim, ngroups, eps, normBeforeGate,
    });
    return { dx, dweight, dz };
  },
);

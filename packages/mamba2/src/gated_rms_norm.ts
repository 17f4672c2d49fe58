/**
 * `gatedRmsNorm`: Falcon-H1's group-wise RMSNorm with a SiLU gate (transformers'
 * `FalconH1RMSNormGated`), declared as the op `FalconGatedRmsNorm`, with its gradient the op
 * `FalconGatedRmsNormBackward`. Kernels: cpu, webgpu and cuda (`csrc/gated_rms_norm.cu`).
 */
import { defineOp } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { gatedRmsNormBackwardOp } from './gated_rms_norm_backward.js';
import { gatedRmsNormCpu } from './kernels/cpu/gated_rms_norm.js';
import { gatedRmsNormCuda } from './kernels/cuda/gated_rms_norm.js';
import { gatedRmsNormWebgpu } from './kernels/webgpu/gated_rms_norm.js';
import { checkArg, checkPositiveInt, fail } from './validate.js';

/** Attributes of the op. @internal */
export interface GatedRmsNormAttrs {
  /** Added to the mean square. */
  eps: number;
  /** Number of groups the last axis is split into, each normalised on its own. */
  ngroups: number;
  /** Normalise first, then multiply by silu(z) (else gate first). */
  normBeforeGate: boolean;
}

/** Options of {@link gatedRmsNorm}. */
export interface GatedRmsNormOptions {
  /** Gate, same shape as x; without it this is a plain group-wise RMSNorm. */
  z?: Tensor;
  /** Added to the mean square (default 1e-6, transformers' default; Falcon-H1 passes `rms_norm_eps`). */
  eps?: number;
  /** Groups of the last axis, each normalised by its own RMS (default 1; Falcon-H1 uses `mamba_n_groups`). */
  ngroups?: number;
  /** true (default): `norm(x)·w·silu(z)`; false: `norm(x·silu(z))·w`. */
  normBeforeGate?: boolean;
}

const OP = 'gatedRmsNorm';

/** The op `FalconGatedRmsNorm`. @internal */
export const gatedRmsNormOp = defineOp<'x' | 'weight', 'z', GatedRmsNormAttrs, 'y'>({
  name: 'FalconGatedRmsNorm',
  inputs: ['x', 'weight'],
  optionalInputs: ['z'],
  outputs: ['y'],
  validate: ({ x, weight, z }, { eps, ngroups }) => {
    if (x.dtype !== 'float32') fail(OP, `argument 'x' must be float32, got ${x.dtype}`);
    if (x.rank < 1) fail(OP, `argument 'x' must have rank at least 1 [..., dim], got a scalar`);
    const dim = x.shape[x.rank - 1];
    checkArg(OP, 'weight', weight, ['dim'], [dim]);
    if (z) checkArg(OP, 'z', z, x.shape.map((_, i) => (i === x.rank - 1 ? 'dim' : `x.shape[${i}]`)), x.shape);
    checkPositiveInt(OP, 'ngroups', ngroups);
    if (dim % ngroups !== 0) fail(OP, `dim (${dim}) must be divisible by ngroups (${ngroups})`);
    if (typeof eps !== 'number' || !(eps >= 0)) fail(OP, `eps must be a non-negative number, got ${String(eps)}`);
  },
  kernels: { cpu: gatedRmsNormCpu, webgpu: gatedRmsNormWebgpu, cuda: gatedRmsNormCuda },
  grad: ({ dy, inputs, attrs }) => {
    const r = gatedRmsNormBackwardOp({ ...inputs, dy: dy.y }, attrs);
    return { x: r.dx, weight: r.dweight, ...(inputs.z ? { z: r.dz } : {}) };
  },
});

/**
 * Gated RMSNorm, group-wise, in float32 as transformers' `FalconH1RMSNormGated`: with `u = x`
 * (or `x·silu(z)` when the gate comes first), each group of `dim/ngroups` features of the last
 * axis becomes `u / sqrt(mean(u²) + eps) · weight`, then is multiplied by `silu(z)` when the norm
 * comes before the gate. Differentiable with respect to x, weight and z.
 *
 * @param x - `[..., dim]`, e.g. `[batch, seqlen, d_ssm]`
 * @param weight - `[dim]`
 * @param options - z (same shape as x), eps, ngroups, normBeforeGate
 * @returns y, same shape as x
 * @throws Error naming the argument when shapes, dtypes or options are wrong (before any kernel runs)
 */
export function gatedRmsNorm(x: Tensor, weight: Tensor, options: GatedRmsNormOptions = {}): Tensor {
  const { z, eps = 1e-6, ngroups = 1, normBeforeGate = true } = options;
  return gatedRmsNormOp({ x, weight, z }, { eps, ngroups, normBeforeGate }).y;
}

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
import { gatedRmsNormSignature } from './gated_rms_norm_signature.js';
import type { GatedRmsNormAttrs, GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormOutputName } from './gated_rms_norm_signature.js';
import { check } from './validate.js';

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
export const gatedRmsNormOp = defineOp<GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormAttrs, GatedRmsNormOutputName>({
  ...gatedRmsNormSignature,
  validate: ({ x, weight, z }, { eps, ngroups }) => {
    const c = check(OP);
    const shape = c.arg('x').tensor(x, { dims: ['...', 'dim'] });
    const dim = shape[shape.length - 1];
    c.arg('weight').tensor(weight, { dims: ['dim'], shape: [dim] });
    c.arg('z').tensor(z, { dims: shape.map((_, i) => (i === shape.length - 1 ? 'dim' : `x.shape[${i}]`)), shape, optional: true });
    c.attr('ngroups').positiveInt(ngroups);
    c.require(dim % ngroups === 0, () => `dim (${dim}) must be divisible by ngroups (${ngroups})`);
    c.attr('eps').number(eps, { min: 0 });
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

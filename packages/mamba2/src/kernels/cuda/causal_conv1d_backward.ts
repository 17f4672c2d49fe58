/**
 * The `cuda` kernel of `FalconCausalConv1dBackward` (`csrc/causal_conv1d_backward.cu`): da (dy
 * through the SiLU, recomputed) into scratch, dx / dInitialState by the transposed convolution,
 * dweight / dbias as per-block partial sums in scratch reduced by a second kernel (deterministic).
 */
import { cudaKernel } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dOptionalName } from '../../causal_conv1d_signature.js';
import type { CausalConv1dBackwardInputName, CausalConv1dBackwardOutputName } from '../../causal_conv1d_backward_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';

/**
 * The CUDA kernel of `FalconCausalConv1dBackward`: dx `[batch, seqlen, dim]`, dweight
 * `[dim, dconv]`, dbias `[dim]` (`[0]` without bias), dInitialState `[batch, dconv − 1, dim]`
 * (`[0]` without an initial state).
 * @internal
 */
export const causalConv1dBackwardCuda = cudaKernel<Mamba2Functions, CausalConv1dBackwardInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dBackwardOutputName>(
  mamba2Cuda,
  (addon, ctx, t, { silu }) => {
    const [b, l, d] = t.x.shape;
    const k = t.weight.shape[1] as number;
    const dx = ctx.output([b, l, d]);
    const dweight = ctx.output([d, k]);
    const dbias = ctx.output(t.bias ? [d] : [0]);
    const dInitialState = ctx.output(t.initialState ? [b, k - 1, d] : [0]);
    const sizes = { batch: b, seqlen: l, dim: d, dconv: k };
    const floats = addon.causalConv1dBackwardScratch({ ...sizes, hasBias: t.bias !== undefined, silu });
    const scratch = ctx.scratch([floats]);
    addon.causalConv1dBackward({
      x: ctx.ptr(t.x), weight: ctx.ptr(t.weight), bias: ctx.ptr(t.bias), initialState: ctx.ptr(t.initialState), seqIdx: ctx.ptr(t.seqIdx),
      dy: ctx.ptr(t.dy), dFinalState: ctx.ptr(t.dFinalState), scratch,
      dx: ctx.ptr(dx), dweight: ctx.ptr(dweight), dbias: ctx.ptr(dbias), dInitialState: ctx.ptr(dInitialState),
      ...sizes, silu,
    });
    return { dx, dweight, dbias, dInitialState };
  },
);

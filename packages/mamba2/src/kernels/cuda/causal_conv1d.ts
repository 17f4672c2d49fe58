/**
 * The `cuda` kernel of `FalconCausalConv1d` (`csrc/causal_conv1d.cu`): a thread per (channel,
 * 8 consecutive positions) with the channel's weights in registers; y `[batch, seqlen, dim]` and
 * finalState `[batch, dconv − 1, dim]`.
 */
import { cudaKernel } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dInputName, CausalConv1dOptionalName } from '../../causal_conv1d_signature.js';
import { mamba2Cuda } from './addon.js';
import type { Mamba2Functions } from './addon.js';

/** The CUDA kernel of `FalconCausalConv1d`. @internal */
export const causalConv1dCuda = cudaKernel<Mamba2Functions, CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dAttrs, 'y' | 'finalState'>(
  mamba2Cuda,
  (addon, ctx, t, { silu }) => {
    const [b, l, d] = t.x.shape;
    const k = t.weight.shape[1] as number;
    const y = ctx.output([b, l, d]);
    const finalState = ctx.output([b, k - 1, d]);
    addon.causalConv1d({
      x: ctx.ptr(t.x), weight: ctx.ptr(t.weight), bias: ctx.ptr(t.bias), initialState: ctx.ptr(t.initialState), seqIdx: ctx.ptr(t.seqIdx),
      y: ctx.ptr(y), finalState: ctx.ptr(finalState), batch: b, seqlen: l, dim: d, dconv: k, silu,
    });
    return { y, finalState };
  },
);

/**
 * CUDA kernel of `applyRope` (csrc/apply_rope.cu): one block per token computes its cos/sin once
 * (angle rounded to float32, as transformers does) and rotates every head's rotary pairs; the
 * dims beyond the rotary dim are copied. `inverse` rotates by −angle (the gradient).
 */
import { cudaKernel } from '@falcon/tensor';
import type { RopeAttrs } from '../../apply_rope_signature.js';
import type { AttentionCudaAddon } from './addon.js';
import { attentionCuda } from './addon.js';

/** The `applyRope` CUDA kernel: x `[batch, seqlen, heads, headDim]`, int32 positions `[batch, seqlen]` or `[seqlen]`. */
export const applyRopeCuda = cudaKernel<AttentionCudaAddon, 'x' | 'positions', never, RopeAttrs, 'y'>(
  attentionCuda,
  (addon, ctx, { x, positions }, { invFreq, attentionScaling, inverse }) => {
    const [batch, seqlen, heads, headDim] = x.shape as number[];
    const y = ctx.output(x.shape as number[]);
    addon.applyRope(ctx.stream, ctx.ptr(x), ctx.ptr(positions), ctx.ptr(y), batch, seqlen, heads, headDim, positions.rank === 2, Float32Array.from(invFreq), attentionScaling, inverse);
    return { y };
  },
);

/**
 * CUDA kernel of `applyRope` (csrc/apply_rope.cu): one block per token computes its cos/sin once
 * (angle rounded to float32, as transformers does) and rotates every head's rotary pairs; the
 * dims beyond the rotary dim are copied. `inverse` rotates by −angle (the gradient).
 */
import { cudaKernel } from '@falcon/tensor';
import type { RopeAttrs } from '../../apply_rope_signature.js';
import type { AttentionFunctions } from './addon.js';
import { attentionCuda } from './addon.js';

/** The `applyRope` CUDA kernel: x `[batch, seqlen, heads, headDim]`, int32 positions `[batch, seqlen]` or `[seqlen]`. */
export const applyRopeCuda = cudaKernel<AttentionFunctions, 'x' | 'positions', never, RopeAttrs, 'y'>(
  attentionCuda,
  (addon, ctx, { x, positions }, { invFreq, attentionScaling, inverse }) => {
    const [batch, seqlen, heads, headDim] = x.shape as number[];
    const y = ctx.output(x.shape as number[]);
    addon.applyRope({
      x: ctx.ptr(x), positions: ctx.ptr(positions), y: ctx.ptr(y), batch, seqlen, heads, headDim, perBatch: positions.rank === 2,
      invFreq: Float32Array.from(invFreq), attentionScaling, inverse: !!inverse,
    });
    return { y };
  },
);

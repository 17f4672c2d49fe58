/**
 * CUDA kernel of `flashAttention` (csrc/flash_attention.cu): FlashAttention-2-style tiles in
 * float32 (a block per 64-query tile and head, key tiles in shared memory, online softmax, the
 * output accumulated in registers), or the split-KV kernel of csrc/decode_attention.cu when there
 * are at most 16 queries per batch row. Memory: out, lse, and O(seqlen·headDim) scratch on the
 * split-KV path only.
 */
import { cudaKernel } from '@falcon/tensor';
import type { CudaKernelContext, Tensor, TensorInfo } from '@falcon/tensor';
import type { AttentionAttrs } from '../../attention_attrs.js';
import type { AttentionCudaAddon, AttentionFunctions, CudaAttentionProblem } from './addon.js';
import { attentionCuda, problemParams } from './addon.js';

/**
 * Queue the attention forward of `t` (q against the first `t.seqlenK` rows of k and v).
 * @returns out `[batch, seqlen, nHeads, headDim]` and lse `[batch, nHeads, seqlen]`
 */
export function attentionForwardCuda(
  addon: AttentionCudaAddon,
  ctx: CudaKernelContext,
  t: CudaAttentionProblem & { v: Tensor },
  attrs: AttentionAttrs,
): { out: TensorInfo; lse: TensorInfo } {
  const [batch, seqlen, nHeads] = t.q.shape as number[];
  const problem = problemParams(ctx, t, attrs);
  const out = ctx.output(t.q.shape as number[]);
  const lse = ctx.output([batch, nHeads, seqlen]);
  const n = addon.forwardScratchFloats(problem);
  const scratch = n > 0 ? ctx.scratch([n]) : 0;
  addon.forward({ q: ctx.ptr(t.q), k: ctx.ptr(t.k), v: ctx.ptr(t.v), out: ctx.ptr(out), lse: ctx.ptr(lse), scratch, ...problem });
  return { out, lse };
}

/** The `flashAttention` CUDA kernel (head dims up to 256). */
export const flashAttentionCuda = cudaKernel<AttentionFunctions, 'q' | 'k' | 'v', 'alibiSlopes' | 'keyPaddingMask' | 'cuSeqlens', AttentionAttrs, 'out' | 'lse'>(
  attentionCuda,
  (addon, ctx, { q, k, v, alibiSlopes, keyPaddingMask, cuSeqlens }, attrs) =>
    attentionForwardCuda(addon, ctx, { q, k, v, slopes: alibiSlopes, keyPaddingMask, cuSeqlens, seqlenK: k.shape[1] as number }, attrs),
);

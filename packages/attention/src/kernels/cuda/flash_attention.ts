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
import type { AttentionCudaAddon, CudaAttentionProblem } from './addon.js';
import { attentionCuda, problemArgs } from './addon.js';

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
  const problem = problemArgs(ctx, t, attrs);
  const out = ctx.output(t.q.shape as number[]);
  const lse = ctx.output([batch, nHeads, seqlen]);
  const n = addon.forwardScratchFloats(...problem);
  const scratch = n > 0 ? ctx.scratch([n]) : 0;
  addon.forward(ctx.stream, ctx.ptr(t.q), ctx.ptr(t.k), ctx.ptr(t.v), ctx.ptr(out), ctx.ptr(lse), scratch, ...problem);
  return { out, lse };
}

/** The `flashAttention` CUDA kernel (head dims up to 256). */
export const flashAttentionCuda = cudaKernel<AttentionCudaAddon, 'q' | 'k' | 'v', 'alibiSlopes' | 'keyPaddingMask' | 'cuSeqlens', AttentionAttrs, 'out' | 'lse'>(
  attentionCuda,
  (addon, ctx, { q, k, v, alibiSlopes, keyPaddingMask, cuSeqlens }, attrs) =>
    attentionForwardCuda(addon, ctx, { q, k, v, slopes: alibiSlopes, keyPaddingMask, cuSeqlens, seqlenK: k.shape[1] as number }, attrs),
);

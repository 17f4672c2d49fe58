/**
 * CUDA kernel of the attention backward (csrc/flash_attention_backward.cu), FlashAttention-2
 * style in float32: Δ = rowsum(dO∘O) − dlse in a pre-pass; dk/dv by a block per (key tile, query
 * head) walking the query tiles that reach it (the heads of a KV group summed afterwards in a
 * fixed order); dq by a separate pass, a block per query tile walking its key tiles (no atomics:
 * deterministic). P is recomputed from q, k and lse. Scratch: Δ `[batch, nHeads, seqlen]`, plus
 * per-head dk/dv partials `2·[batch, seqlenK, nHeads, headDim]` when nHeads > nKvHeads.
 */
import { cudaKernel } from '@falcon/tensor';
import type { AttentionBackwardAttrs } from '../../flash_attention_backward_signature.js';
import type { AttentionFunctions } from './addon.js';
import { attentionCuda, problemParams } from './addon.js';

/** The attention backward CUDA kernel (head dims up to 256); dk and dv are zero beyond `kvLength`. */
export const flashAttentionBackwardCuda = cudaKernel<
  AttentionFunctions,
  'q' | 'k' | 'v' | 'out' | 'lse' | 'dout' | 'dlse',
  'alibiSlopes' | 'keyPaddingMask' | 'cuSeqlens',
  AttentionBackwardAttrs,
  'dq' | 'dk' | 'dv'
>(attentionCuda, (addon, ctx, { q, k, v, out, lse, dout, dlse, alibiSlopes, keyPaddingMask, cuSeqlens }, attrs) => {
  const kvRows = k.shape[1] as number;
  const problem = problemParams(ctx, { q, k, slopes: alibiSlopes, keyPaddingMask, cuSeqlens, seqlenK: attrs.kvLength >= 0 ? attrs.kvLength : kvRows }, attrs);
  const dq = ctx.output(q.shape as number[]);
  const dk = ctx.output(k.shape as number[]);
  const dv = ctx.output(v.shape as number[]);
  const scratch = ctx.scratch([addon.backwardScratchFloats(problem)]);
  addon.backward({
    q: ctx.ptr(q), k: ctx.ptr(k), v: ctx.ptr(v), out: ctx.ptr(out), dout: ctx.ptr(dout), lse: ctx.ptr(lse), dlse: ctx.ptr(dlse),
    dq: ctx.ptr(dq), dk: ctx.ptr(dk), dv: ctx.ptr(dv), scratch, ...problem,
  });
  return { dq, dk, dv };
});

/**
 * CUDA kernel of `decodeAttention`: the attention forward of csrc/ (split-KV over the cache for a
 * few new tokens, flash tiles for a longer chunk) reading the first `length` rows of the cache
 * buffers in place, so a step costs O(length), whatever the capacity.
 */
import { cudaKernel } from '@falcon/tensor';
import type { DecodeAttrs } from '../../decode_attention_signature.js';
import type { AttentionFunctions } from './addon.js';
import { attentionCuda } from './addon.js';
import { attentionForwardCuda } from './flash_attention.js';

/** The `decodeAttention` CUDA kernel (head dims up to 256). */
export const decodeAttentionCuda = cudaKernel<AttentionFunctions, 'q' | 'kCache' | 'vCache', 'keyPaddingMask' | 'alibiSlopes', DecodeAttrs, 'out' | 'lse'>(
  attentionCuda,
  (addon, ctx, { q, kCache, vCache, keyPaddingMask, alibiSlopes }, attrs) =>
    attentionForwardCuda(addon, ctx, { q, k: kCache, v: vCache, slopes: alibiSlopes, keyPaddingMask, seqlenK: attrs.length }, attrs),
);

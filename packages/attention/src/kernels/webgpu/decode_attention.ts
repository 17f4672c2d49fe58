/**
 * WebGPU kernel of `decodeAttention`: the flash forward program reading the first `length` rows
 * of the cache buffers (row stride = capacity), so a step costs O(length), not O(capacity).
 */
import { webgpuKernel } from '@falcon/tensor';
import { attentionForwardWebgpu } from './flash_attention.js';
import type { DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttentionOutputName, DecodeAttrs } from '../../decode_attention_signature.js';

/** The `decodeAttention` WebGPU kernel. */
export const decodeAttentionWebgpu = webgpuKernel<DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttrs, DecodeAttentionOutputName>(
  ({ inputs: { q, kCache, vCache, keyPaddingMask, alibiSlopes }, attrs, run }) => {
    const [batch, seqlenQ, nHeads, headDim] = q.shape;
    const [, capacity, nKvHeads] = kCache.shape;
    const p = { ...attrs, batch, seqlenQ, seqlenK: attrs.length, kvRows: capacity, nHeads, nKvHeads, headDim, nCu: 0 };
    return attentionForwardWebgpu(run, p, { q, k: kCache, v: vCache, keyPaddingMask, alibiSlopes });
  },
);

/**
 * WebGPU kernel of `decodeAttention`: the flash forward program reading the first `length` rows
 * of the cache buffers (row stride = capacity), so a step costs O(length), not O(capacity).
 */
import { webgpuKernel } from '@falcon/tensor';
import type { AttentionAttrs } from '../../attention_attrs.js';
import { attentionForwardWebgpu } from './flash_attention.js';

/** The `decodeAttention` WebGPU kernel. */
export const decodeAttentionWebgpu = webgpuKernel<'q' | 'kCache' | 'vCache', 'keyPaddingMask' | 'alibiSlopes', AttentionAttrs & { length: number }, 'out' | 'lse'>(
  ({ inputs: { q, kCache, vCache, keyPaddingMask, alibiSlopes }, attrs, run }) => {
    const [batch, seqlenQ, nHeads, headDim] = q.shape;
    const [, capacity, nKvHeads] = kCache.shape;
    const p = { ...attrs, batch, seqlenQ, seqlenK: attrs.length, kvRows: capacity, nHeads, nKvHeads, headDim, nCu: 0 };
    return attentionForwardWebgpu(run, p, { q, k: kCache, v: vCache, keyPaddingMask, alibiSlopes });
  },
);

/**
 * CPU kernel of `decodeAttention`: the tiled flash forward reading the first `length` rows of the
 * cache buffers in place (row stride = capacity), so a step costs O(length), not O(capacity).
 */
import { hostKernel } from '@falcon/tensor';
import { attentionForwardHost } from './flash_attention.js';
import type { DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttentionOutputName, DecodeAttrs } from '../../decode_attention_signature.js';

/** The `decodeAttention` CPU kernel. */
export const decodeAttentionCpu = hostKernel<DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttrs, DecodeAttentionOutputName>(
  ({ q, kCache, vCache, keyPaddingMask, alibiSlopes }, attrs) => {
    const [batch, seqlenQ, nHeads, headDim] = q.shape;
    const [, capacity, nKvHeads] = kCache.shape;
    const { out, lse } = attentionForwardHost({
      ...attrs,
      batch,
      seqlenQ,
      seqlenK: attrs.length,
      kvRows: capacity,
      nHeads,
      nKvHeads,
      headDim,
      q: q.values as Float32Array,
      k: kCache.values as Float32Array,
      v: vCache.values as Float32Array,
      slopes: alibiSlopes?.values,
      keyMask: keyPaddingMask?.values,
    });
    return {
      out: { values: out, shape: q.shape, dtype: 'float32' },
      lse: { values: lse, shape: [batch, nHeads, seqlenQ], dtype: 'float32' },
    };
  },
);

/**
 * `decodeAttention`: attention of new tokens (one decode step, or a chunk of a chunked prefill)
 * against a {@link KVCache} that already holds their keys and values, reading only the cache's
 * first `length` rows. Causal by default, with the new queries at the end of the cache. Kernels:
 * cpu, webgpu and CUDA (split-KV over the cache for up to 16 new tokens, flash tiles for longer
 * chunks; head dims above 256 take the reference on cuda).
 */
import { compositeKernel, defineOp } from '@falcon/tensor';
import type { Tensor, Tensor3D, Tensor4D } from '@falcon/tensor';
import { decodeAttentionSignature } from './decode_attention_signature.js';
import type { DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttentionOutputName, DecodeAttrs } from './decode_attention_signature.js';
import type { AttentionResult } from './flash_attention.js';
import { flashAttentionBackwardOp } from './flash_attention_backward.js';
import { decodeAttentionCpu } from './kernels/cpu/decode_attention.js';
import { withHeadDimFallback } from './kernels/cuda/addon.js';
import { decodeAttentionCuda } from './kernels/cuda/decode_attention.js';
import { decodeAttentionWebgpu } from './kernels/webgpu/decode_attention.js';
import type { KVCache } from './kv_cache.js';
import { decodeAttentionReference } from './reference/decode_attention.js';
import { check, checkAttention, dims } from './validate.js';

export type { DecodeAttrs } from './decode_attention_signature.js';

const FN = 'decodeAttention';

/** Options of {@link decodeAttention}. */
export interface DecodeAttentionOptions {
  /** Causal among the new tokens (default true); the new queries sit at the end of the cache. */
  causal?: boolean;
  /** Multiplies q·kᵀ (default `headDim^−0.5`). */
  softmaxScale?: number;
  /** ALiBi slopes `[nHeads]`. */
  alibiSlopes?: Tensor;
  /** Sliding window: keys more than `windowLeft` positions before the query are masked (default −1: none). */
  windowLeft?: number;
}

const reference = compositeKernel<DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttrs, DecodeAttentionOutputName>((t, attrs) =>
  decodeAttentionReference(t, attrs),
);

/**
 * The decode attention op (kernel `FalconDecodeAttention`): inputs q, kCache, vCache and the
 * optional keyPaddingMask `[batch, capacity]` and alibiSlopes; attribute `length` (cache rows in
 * use); outputs out and lse. Most callers use {@link decodeAttention}.
 */
export const decodeAttentionOp = defineOp<DecodeAttentionInputName, DecodeAttentionOptionalName, DecodeAttrs, DecodeAttentionOutputName>({
  ...decodeAttentionSignature,
  validate: ({ q, kCache, vCache, keyPaddingMask, alibiSlopes }, attrs) => {
    const c = check(FN);
    checkAttention(c, q, kCache, vCache, { keyPaddingMask, alibiSlopes }, attrs, 'kCache', 'vCache');
    c.attr('length').int(attrs.length, { min: 1 });
    c.require(attrs.length <= dims(kCache)[1], () => `length ${attrs.length} exceeds the cache capacity ${dims(kCache)[1]}`);
    c.require(dims(q)[1] <= attrs.length, () => `${dims(q)[1]} new queries but the cache holds only ${attrs.length} tokens; append the new tokens' keys and values first`);
  },
  kernels: { cpu: decodeAttentionCpu, webgpu: decodeAttentionWebgpu, cuda: withHeadDimFallback(decodeAttentionCuda, reference, (t) => dims(t.q)[3]) },
  grad: ({ dy, inputs, outputs, attrs }) => {
    const g = flashAttentionBackwardOp(
      {
        q: inputs.q,
        k: inputs.kCache,
        v: inputs.vCache,
        out: outputs.out,
        lse: outputs.lse,
        dout: dy.out,
        dlse: dy.lse,
        alibiSlopes: inputs.alibiSlopes,
        keyPaddingMask: inputs.keyPaddingMask,
      },
      { scale: attrs.scale, causal: attrs.causal, windowLeft: attrs.windowLeft, windowRight: attrs.windowRight, kvLength: attrs.length },
    );
    return { q: g.dq, kCache: g.dk, vCache: g.dv };
  },
});

/**
 * Attention of new queries against the first `cache.length` rows of a KV cache (which must
 * already contain the new tokens' keys and values, see {@link KVCache.append}), honouring the
 * cache's key padding mask. Equal to {@link flashAttention} of q against those rows; costs
 * O(length) per query, whatever the capacity.
 *
 * @param q - new queries `[batch, newTokens, nHeads, headDim]`
 * @param cache - the layer's cache, `[batch, capacity, nKvHeads, headDim]` buffers
 * @returns `out` `[batch, newTokens, nHeads, headDim]` and `lse` `[batch, nHeads, newTokens]`
 * @throws when q does not match the cache or the cache does not hold the new tokens yet
 */
export function decodeAttention(q: Tensor, cache: KVCache, options: DecodeAttentionOptions = {}): AttentionResult {
  check(FN).require(cache.length > 0, `the cache is empty; append the new tokens' keys and values before attending`);
  const attrs: DecodeAttrs = {
    scale: options.softmaxScale ?? (q.rank === 4 ? dims(q)[3] ** -0.5 : 1),
    causal: options.causal ?? true,
    windowLeft: options.windowLeft ?? -1,
    windowRight: -1,
    length: cache.length,
  };
  const r = decodeAttentionOp({ q, kCache: cache.keys, vCache: cache.values, keyPaddingMask: cache.keyPaddingMask, alibiSlopes: options.alibiSlopes }, attrs);
  return { out: r.out as Tensor4D, lse: r.lse as Tensor3D };
}

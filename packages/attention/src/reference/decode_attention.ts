/**
 * Reference decode attention: the reference attention of the new queries against the first
 * `length` rows of the cache (causal alignment puts the queries at the end of those rows).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from '../attention_attrs.js';
import { flashAttentionReference } from './flash_attention.js';

/** Decode inputs: new queries and the whole cache buffers. */
export interface DecodeTensors {
  /** `[batch, newTokens, nHeads, headDim]` */
  q: Tensor;
  /** `[batch, capacity, nKvHeads, headDim]` */
  kCache: Tensor;
  /** `[batch, capacity, nKvHeads, headDim]` */
  vCache: Tensor;
  /** `[batch, capacity]` */
  keyPaddingMask?: Tensor;
  /** `[nHeads]` */
  alibiSlopes?: Tensor;
}

/** Reference decode attention. @returns `out` `[batch, newTokens, nHeads, headDim]`, `lse` `[batch, nHeads, newTokens]` */
export function decodeAttentionReference(t: DecodeTensors, attrs: AttentionAttrs & { length: number }): { out: Tensor; lse: Tensor } {
  return tf.tidy(() => {
    const n = attrs.length;
    const rows = (x: Tensor) => tf.slice(x, 0, [x.shape[0], n, ...x.shape.slice(2)]);
    return flashAttentionReference(
      { q: t.q, k: rows(t.kCache), v: rows(t.vCache), keyPaddingMask: t.keyPaddingMask, alibiSlopes: t.alibiSlopes },
      attrs,
    );
  });
}

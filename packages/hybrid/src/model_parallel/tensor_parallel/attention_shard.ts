/**
 * One TP rank's attention heads of a Falcon-H1 layer, before the output projection: q/k/v of its
 * query heads and the KV heads they use, RoPE, causal flash attention. Query heads that share a
 * KV head form a segment; when every local KV head serves the same number of local query heads
 * this is one grouped-query call, otherwise (a routed, uneven split) one call per segment.
 */
import { applyRope, flashAttention, ropeFrequencies } from '@falcon/attention';
import type { RopeFrequencies, RopeParameters } from '@falcon/attention';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { BlockLayout } from './layout.js';

/** Sizes and multipliers of the attention block. */
export interface AttentionShardConfig {
  /** Head dim hd. */
  headDim: number;
  /** `key_multiplier`. */
  keyMultiplier: number;
  /** RoPE frequencies (null: no RoPE). */
  rope: RopeFrequencies | null;
}

/**
 * The RoPE frequencies of a config's `rope_parameters` (dynamic NTK is not supported under TP).
 * @throws for `rope_type: 'dynamic'`
 */
export function ropeOf(rope: RopeParameters | null | undefined, headDim: number, maxPositionEmbeddings: number): RopeFrequencies | null {
  if (!rope) return null;
  if (rope.rope_type === 'dynamic') throw new Error('tensor parallelism: dynamic RoPE is not supported (its frequencies follow the longest position of each call)');
  return ropeFrequencies(rope, headDim, { maxPositionEmbeddings });
}

/**
 * @param u - `[batch, seqlen, d]`, the (multiplied) normed input inside the TP region
 * @param project - `(x [tokens, d], 'q_proj' | 'k_proj' | 'v_proj') → [tokens, rows]` (this rank's rows, bias included)
 * @param block - this rank's attention layout
 * @returns `[batch, seqlen, localHeads·hd]`
 */
export function attentionShard(u: Tensor, project: (x: Tensor, name: 'q_proj' | 'k_proj' | 'v_proj') => Tensor, block: BlockLayout, c: AttentionShardConfig, positions: Tensor, mask?: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, l, d] = u.shape;
    const hq = block.heads[1] - block.heads[0];
    const hkv = block.shared[1] - block.shared[0];
    const x = tf.reshape(u, [b * l, d]);
    let q = tf.reshape(project(x, 'q_proj'), [b, l, hq, c.headDim]);
    let k = project(x, 'k_proj');
    if (c.keyMultiplier !== 1) k = tf.mul(k, c.keyMultiplier);
    k = tf.reshape(k, [b, l, hkv, c.headDim]);
    const v = tf.reshape(project(x, 'v_proj'), [b, l, hkv, c.headDim]);
    if (c.rope) {
      q = applyRope(q, positions, c.rope);
      k = applyRope(k, positions, c.rope);
    }
    const attend = (qs: Tensor, ks: Tensor, vs: Tensor) => flashAttention(qs, ks, vs, { causal: true, softmaxScale: c.headDim ** -0.5, keyPaddingMask: mask }).out;
    const out = block.uniform
      ? attend(q, k, v)
      : tf.concat(
          block.segments.map((s) => {
            const heads = (t: Tensor, h0: number, n: number) => tf.slice(t, [0, 0, h0, 0], [b, l, n, c.headDim]);
            return attend(heads(q, s.heads[0], s.heads[1] - s.heads[0]), heads(k, s.shared, 1), heads(v, s.shared, 1));
          }),
          2,
        );
    return tf.reshape(out, [b, l, hq * c.headDim]);
  });
}

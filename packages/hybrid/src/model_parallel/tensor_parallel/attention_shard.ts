/**
 * One TP rank's attention heads of a Falcon-H1 layer, before the output projection: q/k/v of its
 * query heads and the KV heads they use, RoPE, causal flash attention. Query heads that share a
 * KV head form a segment; when every local KV head serves the same number of local query heads
 * this is one grouped-query call, otherwise (a routed, uneven split) one call per segment.
 */
import { applyRope, decodeAttention, flashAttention, KVCache, ropeFrequencies } from '@falcon/attention';
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

/** One attention call: local query heads `[q0, q0 + nq)` against local KV heads `[kv0, kv0 + nkv)`. */
export interface AttentionCall {
  q: [number, number];
  kv: [number, number];
}

/** The calls of a block: one grouped-query call when uniform, else one per segment (one KV head each). */
export function attentionCalls(block: BlockLayout): AttentionCall[] {
  const hq = block.heads[1] - block.heads[0];
  const hkv = block.shared[1] - block.shared[0];
  if (block.uniform) return [{ q: [0, hq], kv: [0, hkv] }];
  return block.segments.map((s) => ({ q: [s.heads[0], s.heads[1] - s.heads[0]], kv: [s.shared, 1] }));
}

/** Heads `[h0, h0 + n)` of `[batch, seqlen, heads, hd]`. */
export function headSlice(t: Tensor, [h0, n]: [number, number]): Tensor {
  const [b, l, h, hd] = t.shape;
  return h0 === 0 && n === h ? t : tf.slice(t, [0, 0, h0, 0], [b, l, n, hd]);
}

/**
 * q, k, v of this rank's heads, RoPE applied.
 * @param u - `[batch, seqlen, d]`
 * @returns q `[batch, seqlen, localHeads, hd]`, k and v `[batch, seqlen, localKvHeads, hd]`
 */
export function projectQkv(u: Tensor, project: QkvProjection, block: BlockLayout, c: AttentionShardConfig, positions: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
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
  return { q, k, v };
}

/** A projection of this rank's rows: `(x [tokens, d], 'q_proj' | 'k_proj' | 'v_proj') → [tokens, rows]` (bias included). */
export type QkvProjection = (x: Tensor, name: 'q_proj' | 'k_proj' | 'v_proj') => Tensor;

/**
 * @param u - `[batch, seqlen, d]`, the (multiplied) normed input inside the TP region
 * @param project - this rank's q/k/v rows
 * @param block - this rank's attention layout
 * @returns `[batch, seqlen, localHeads·hd]`
 */
export function attentionShard(u: Tensor, project: QkvProjection, block: BlockLayout, c: AttentionShardConfig, positions: Tensor, mask?: Tensor): Tensor {
  return attentionShardPrefill(u, project, block, c, positions, mask).y;
}

/**
 * How the KV cache of a block holds its keys and values: `undefined` when uniform (the local KV
 * heads as they are), else the local KV head of each local query head (the cache then holds one
 * copy per query head, so one grouped-query decode serves any split).
 */
export function cacheKvIndex(block: BlockLayout): number[] | undefined {
  if (block.uniform) return undefined;
  return block.segments.flatMap((s) => new Array<number>(s.heads[1] - s.heads[0]).fill(s.shared));
}

function cacheKv(t: Tensor, idx: number[] | undefined): Tensor {
  return idx ? tf.gather(t, tf.tensor1d(idx, 'int32'), 2) : t;
}

/**
 * The attention of local heads done elsewhere (context parallelism: ring attention across the CP
 * group): q `[batch, seqlen, nq, hd]`, k and v `[batch, seqlen, nkv, hd]`, the key padding mask of
 * these positions `[batch, seqlen]` (1 keep / 0 padding) when there is one → `[batch, seqlen, nq, hd]`.
 */
export type AttentionShardCore = (q: Tensor, k: Tensor, v: Tensor, mask?: Tensor) => Tensor;

/**
 * {@link attentionShard}, also returning a KV cache of this capacity when one is given (prefill).
 * @param core - replaces the causal flash attention of each call (given the mask; no cache)
 * @returns y `[batch, seqlen, localHeads·hd]` and the cache
 */
export function attentionShardPrefill(u: Tensor, project: QkvProjection, block: BlockLayout, c: AttentionShardConfig, positions: Tensor, mask?: Tensor, cacheCapacity?: number, core?: AttentionShardCore): { y: Tensor; cache?: KVCache } {
  if (core && cacheCapacity !== undefined) throw new Error('attentionShard: an outside core (context parallelism) runs without caches');
  let cache: KVCache | undefined;
  const y = tf.tidy(() => {
    const [b, l] = u.shape;
    const { q, k, v } = projectQkv(u, project, block, c, positions);
    if (cacheCapacity !== undefined) {
      const idx = cacheKvIndex(block);
      cache = new KVCache({ batch: b, capacity: cacheCapacity, nKvHeads: idx ? idx.length : block.shared[1] - block.shared[0], headDim: c.headDim });
      cache.append(cacheKv(k, idx), cacheKv(v, idx), mask);
    }
    const outs = attentionCalls(block).map((call) => core ? core(headSlice(q, call.q), headSlice(k, call.kv), headSlice(v, call.kv), mask) : flashAttention(headSlice(q, call.q), headSlice(k, call.kv), headSlice(v, call.kv), { causal: true, softmaxScale: c.headDim ** -0.5, keyPaddingMask: mask }).out);
    return tf.reshape(outs.length === 1 ? outs[0] : tf.concat(outs, 2), [b, l, (block.heads[1] - block.heads[0]) * c.headDim]);
  });
  return cache ? { y, cache } : { y };
}

/**
 * One decoding step (or a few new tokens) of this rank's heads from its KV cache (appended in place).
 * @param u - `[batch, n, d]`
 * @param cache - from {@link attentionShardPrefill}
 * @returns `[batch, n, localHeads·hd]`
 */
export function attentionShardStep(u: Tensor, project: QkvProjection, block: BlockLayout, c: AttentionShardConfig, positions: Tensor, cache: KVCache, mask?: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, n] = u.shape;
    const { q, k, v } = projectQkv(u, project, block, c, positions);
    const idx = cacheKvIndex(block);
    cache.append(cacheKv(k, idx), cacheKv(v, idx), mask);
    const out = decodeAttention(q, cache, { softmaxScale: c.headDim ** -0.5 }).out;
    return tf.reshape(out, [b, n, (block.heads[1] - block.heads[0]) * c.headDim]);
  });
}

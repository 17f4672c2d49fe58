/**
 * Ring attention over the context-parallel layout: each rank holds the queries, keys and values of
 * its two mirrored chunks; the K/V blocks go round the ring (c − 1 point-to-point shifts, each rank
 * sending its current block to the next rank and receiving the previous rank's), and at every step
 * each local query chunk attends to the block's key chunks that are not after it (the diagonal
 * chunk causally, earlier chunks fully, later ones skipped). The partial results are merged with
 * their log-sum-exps (the online softmax). The backward is autodiff through the same steps: dQ
 * stays, dK/dV travel back around the ring through the shifts' gradients.
 *
 * Overlap (the default): the shift of block s+1 is posted before block s is computed and waited
 * after it, forward and backward (`startRingShift`: the backward posts the dK/dV shift before
 * block s's backward and waits for it after), so the transfer runs while the rank computes. The
 * values are those of the plain ring (`overlap: false`), bit for bit.
 *
 * Key padding (left or right): each rank's mask of its two chunks travels around the ring with its
 * K/V block (a shift of its own, posted and waited with the K/V one; not differentiated). A query
 * whose visible keys are all padding gets zeros, as on one rank: its parts' log-sum-exps (−∞) are
 * floored at −1e30 before the merge.
 */
import { flashAttention } from '@falcon/attention';
import { contextParallelLayout, ringShift, startRingShift } from '@falcon/parallel';
import type { ContextParallelLayout, ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** Options of {@link ringAttention}. */
export interface RingAttentionOptions {
  /** The context-parallel group. */
  group: ProcessGroup;
  /** The whole sequence length (divisible by 2 × group size). */
  seqlen: number;
  /** Softmax scale (default `headDim^−0.5`). */
  softmaxScale?: number;
  /** Key padding mask of this rank's two chunks `[batch, 2L]` (like k), 1 keep / 0 padding (default none). */
  keyPaddingMask?: Tensor;
  /** Overlap each K/V shift with the compute of the current block (default true; false: wait for each shift before computing). */
  overlap?: boolean;
}

/**
 * Merges partial attention results over disjoint key sets by their log-sum-exps.
 * @param parts - out `[batch, L, nHeads, headDim]` and lse `[batch, nHeads, L]` of each part
 * @returns the attention over the union of the key sets, `[batch, L, nHeads, headDim]`
 */
export function mergeAttention(parts: { out: Tensor; lse: Tensor }[]): Tensor {
  if (parts.length === 1) return parts[0].out;
  return tf.tidy(() => {
    const lses = tf.stack(parts.map((p) => p.lse)); // [n, b, H, L]
    const lse = tf.logSumExp(lses, 0); // [b, H, L]
    let acc: Tensor | undefined;
    parts.forEach((p) => {
      // weight exp(lse_i − lse) per (b, H, L) → [b, L, H, 1]
      const w = tf.expandDims(tf.transpose(tf.exp(tf.sub(p.lse, lse)), [0, 2, 1]), 3);
      const term = tf.mul(p.out, w);
      acc = acc ? tf.add(acc, term) : term;
    });
    return acc!;
  });
}

/**
 * Causal attention of this rank's queries over every rank's keys and values.
 * @param q - `[batch, 2L, nHeads, headDim]`: this rank's two chunks (RoPE at the global positions)
 * @param k - `[batch, 2L, nKvHeads, headDim]`
 * @param v - `[batch, 2L, nKvHeads, headDim]`
 * @returns `[batch, 2L, nHeads, headDim]`
 */
export function ringAttention(q: Tensor, k: Tensor, v: Tensor, opts: RingAttentionOptions): Tensor {
  const { group } = opts;
  const layout: ContextParallelLayout = contextParallelLayout(opts.seqlen, group.size, group.rank);
  const L = layout.chunkLength;
  if (q.rank !== 4 || q.shape[1] !== 2 * L) throw new RangeError(`ringAttention: q [${q.shape.join(',')}] must be [batch, ${2 * L} (two chunks of ${L}), nHeads, headDim]`);
  if (k.shape[1] !== 2 * L || v.shape[1] !== 2 * L || k.shape[2] !== v.shape[2]) throw new RangeError(`ringAttention: k [${k.shape.join(',')}] and v [${v.shape.join(',')}] must be [batch, ${2 * L}, nKvHeads, headDim]`);
  const c = group.size;
  const hkv = k.shape[2] as number;
  const softmaxScale = opts.softmaxScale ?? (q.shape[3] as number) ** -0.5;
  const mask = opts.keyPaddingMask;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== q.shape[0] || mask.shape[1] !== 2 * L)) {
    throw new RangeError(`ringAttention: keyPaddingMask [${mask.shape.join(',')}] must be this rank's [batch ${q.shape[0]}, ${2 * L} (two chunks of ${L})]`);
  }
  return tf.tidy(() => {
    const qs = tf.split(q, 2, 1);
    const parts: { out: Tensor; lse: Tensor }[][] = [[], []];
    // one message per step: k and v side by side along the heads
    let block = tf.concat([k, v], 2);
    let maskBlock = mask && tf.cast(mask, 'float32'); // [b, 2L]: the mask of the block's two chunks
    const overlap = opts.overlap ?? true;
    for (let s = 0; s < c; s++) {
      const src = (group.rank - s + c) % c;
      const current = block;
      const currentMask = maskBlock;
      // overlapped: the next block is posted now and waited after this one's compute; plain: it has arrived before the compute
      let next: (() => Tensor) | undefined;
      let nextMask: (() => Tensor) | undefined;
      if (s + 1 < c && overlap) {
        const pending = startRingShift(current, { group, tag: 0x5100 });
        const pendingMask = currentMask && startRingShift(currentMask, { group, tag: 0x5110 });
        next = () => pending.wait();
        if (pendingMask) nextMask = () => pendingMask.wait();
      } else if (s + 1 < c) {
        const arrived = ringShift(current, { group, tag: 0x5100 });
        const arrivedMask = currentMask && ringShift(currentMask, { group, tag: 0x5110 });
        next = () => arrived;
        if (arrivedMask) nextMask = () => arrivedMask;
      }
      const masks = currentMask ? tf.split(currentMask, 2, 1) : undefined;
      const [kb, vb] = tf.split(current, [hkv, hkv], 2);
      const ks = tf.split(kb, 2, 1);
      const vs = tf.split(vb, 2, 1);
      const srcChunks = [src, 2 * c - 1 - src];
      layout.chunks.forEach((qc, i) => {
        srcChunks.forEach((kc, j) => {
          if (kc > qc) return;
          const r = flashAttention(qs[i], ks[j], vs[j], { causal: kc === qc, softmaxScale, keyPaddingMask: masks?.[j] });
          // a query that sees only padding in this part: lse −∞ → −1e30 (weight 0 next to any real part; all such parts merge to zeros)
          parts[i].push({ out: r.out, lse: mask ? tf.maximum(r.lse, -1e30) : r.lse });
        });
      });
      if (next) block = next();
      if (nextMask) maskBlock = nextMask();
    }
    return tf.concat([mergeAttention(parts[0]), mergeAttention(parts[1])], 1);
  });
}

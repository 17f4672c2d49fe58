/**
 * The load-balanced sequence layout of context parallelism: the sequence is cut into 2c equal
 * chunks and rank r of c holds chunks r and 2c−1−r (a causal mask makes late chunks costly and
 * early ones cheap, so every rank gets one of each). A rank's local sequence is its two chunks
 * one after the other.
 *
 * ```
 *   c = 2, seqlen 16:  chunk  0    1    2    3
 *                      rank   0    1    1    0      rank 0 holds positions 0–3 and 12–15
 * ```
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** Where a rank's tokens sit in the whole sequence. */
export interface ContextParallelLayout {
  /** The CP group size c. */
  size: number;
  /** This rank r in the CP group. */
  rank: number;
  /** The whole sequence length (divisible by 2c). */
  seqlen: number;
  /** Tokens per chunk, `seqlen / 2c`. */
  chunkLength: number;
  /** The global indices of this rank's two chunks, `[r, 2c − 1 − r]`. */
  chunks: [number, number];
}

/**
 * The layout of rank `rank` of `size` for a sequence of `seqlen` tokens.
 * @throws RangeError when seqlen is not a positive multiple of 2·size or rank is out of range
 */
export function contextParallelLayout(seqlen: number, size: number, rank: number): ContextParallelLayout {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`context parallelism: the group size must be a positive integer, got ${size}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`context parallelism: rank ${rank} is not in [0, ${size})`);
  if (!Number.isInteger(seqlen) || seqlen < 1 || seqlen % (2 * size) !== 0) {
    throw new RangeError(`context parallelism: the sequence length ${seqlen} must be a positive multiple of 2·cp = ${2 * size} (each rank holds two mirrored chunks)`);
  }
  return { size, rank, seqlen, chunkLength: seqlen / (2 * size), chunks: [rank, 2 * size - 1 - rank] };
}

/** The owner (CP rank) of global chunk `chunk` of `2·size`. */
export function chunkOwner(chunk: number, size: number): number {
  return chunk < size ? chunk : 2 * size - 1 - chunk;
}

/** The global positions of a rank's local tokens, in local order: int32 `[2 · chunkLength]`. */
export function contextParallelPositions(layout: ContextParallelLayout): Int32Array {
  const L = layout.chunkLength;
  const out = new Int32Array(2 * L);
  layout.chunks.forEach((c, i) => {
    for (let t = 0; t < L; t++) out[i * L + t] = c * L + t;
  });
  return out;
}

/**
 * The global position of each index of the rank-major concatenation of every rank's local
 * sequence (rank 0's two chunks, then rank 1's, …): what an all-gather along the sequence yields.
 * @returns int32 `[seqlen]`
 */
export function rankMajorPositions(seqlen: number, size: number): Int32Array {
  const out = new Int32Array(seqlen);
  for (let r = 0; r < size; r++) out.set(contextParallelPositions(contextParallelLayout(seqlen, size, r)), (r * seqlen) / size);
  return out;
}

/**
 * This rank's part of a whole sequence (its two chunks, concatenated): a slice, differentiable.
 * @param x - `[..., seqlen (axis), ...]`
 * @param axis - the sequence axis (default 1: `[batch, seqlen, ...]`)
 * @returns `[..., 2 · chunkLength, ...]`
 */
export function splitSequence(x: Tensor, layout: ContextParallelLayout, axis = 1): Tensor {
  if (x.shape[axis] !== layout.seqlen) throw new RangeError(`splitSequence: axis ${axis} of [${x.shape.join(',')}] is not the layout's sequence length ${layout.seqlen}`);
  const L = layout.chunkLength;
  return tf.tidy(() => {
    const parts = layout.chunks.map((c) => {
      const begin = x.shape.map((_, d) => (d === axis ? c * L : 0));
      const size = x.shape.map((s, d) => (d === axis ? L : s));
      return tf.slice(x, begin, size);
    });
    return tf.concat(parts, axis);
  });
}

function blocks(x: Tensor, n: number, axis: number): Tensor[] {
  return tf.split(x, n, axis);
}

/**
 * The whole sequence in natural order from the rank-major concatenation of every rank's local
 * sequence (what an all-gather or all-to-all along the sequence yields). Slices and a concat,
 * differentiable.
 * @param x - `[..., seqlen (axis), ...]` in rank-major order
 * @returns `[..., seqlen, ...]` in position order
 */
export function rankMajorToNatural(x: Tensor, size: number, axis = 1): Tensor {
  return tf.tidy(() => {
    const b = blocks(x, 2 * size, axis); // block 2q + i = chunk i of rank q
    return tf.concat(Array.from({ length: 2 * size }, (_, j) => b[2 * chunkOwner(j, size) + (j < size ? 0 : 1)]), axis);
  });
}

/**
 * The inverse of {@link rankMajorToNatural}: natural order to the rank-major concatenation.
 * @param x - `[..., seqlen (axis), ...]` in position order
 * @returns `[..., seqlen, ...]` in rank-major order
 */
export function naturalToRankMajor(x: Tensor, size: number, axis = 1): Tensor {
  return tf.tidy(() => {
    const b = blocks(x, 2 * size, axis);
    return tf.concat(Array.from({ length: size }, (_, q) => [b[q], b[2 * size - 1 - q]]).flat(), axis);
  });
}

/**
 * What the CPU attention kernels (flash forward, flash backward, decode) share: the problem
 * description over host arrays, the per-query key ranges that encode causal / sliding-window /
 * packed-sequence masking without a mask matrix, and a record of the scratch memory a kernel used.
 */
import type { AttentionAttrs } from '../../attention_attrs.js';

/** An attention problem over host arrays (row-major, layouts as in `flashAttention`). */
export interface HostAttentionProblem extends AttentionAttrs {
  /** `batch` */
  batch: number;
  /** Number of queries `seqlen`. */
  seqlenQ: number;
  /** Number of keys that take part (≤ kvRows; the decode length). */
  seqlenK: number;
  /** Rows per batch entry in k/v and the key mask (seqlenK, or the cache capacity). */
  kvRows: number;
  /** `nHeads` */
  nHeads: number;
  /** `nKvHeads` */
  nKvHeads: number;
  /** `headDim` */
  headDim: number;
  /** `[batch, seqlenQ, nHeads, headDim]` */
  q: Float32Array;
  /** `[batch, kvRows, nKvHeads, headDim]` */
  k: Float32Array;
  /** `[batch, kvRows, nKvHeads, headDim]` */
  v: Float32Array;
  /** ALiBi slopes `[nHeads]`. */
  slopes?: ArrayLike<number>;
  /** Key padding mask `[batch, kvRows]`, 0 = masked. */
  keyMask?: ArrayLike<number>;
  /** Packed sequences `[nSeqs + 1]` (seqlenQ = seqlenK). */
  cuSeqlens?: ArrayLike<number>;
}

/** Query tile rows and key tile columns of the CPU kernels (64×64 float32 tiles fit in L1/L2). */
export const TILE_Q = 64;
/** Key tile size of the CPU kernels. */
export const TILE_K = 64;

/**
 * For every query i, the inclusive range [lo[i], hi[i]] of keys that causal alignment, the sliding
 * window and packed sequences allow (hi < lo when none). Key padding is checked per key.
 */
export function rowRanges(p: HostAttentionProblem): { lo: Int32Array; hi: Int32Array } {
  const { seqlenQ: L, seqlenK: LK, causal, windowLeft, windowRight, cuSeqlens } = p;
  const lo = new Int32Array(L);
  const hi = new Int32Array(L);
  let seg = 0;
  for (let i = 0; i < L; i++) {
    const pos = i + LK - L;
    let a = 0;
    let z = LK - 1;
    if (causal && pos < z) z = pos;
    if (windowLeft >= 0 && pos - windowLeft > a) a = pos - windowLeft;
    if (windowRight >= 0 && pos + windowRight < z) z = pos + windowRight;
    if (cuSeqlens) {
      while (seg + 2 < cuSeqlens.length && i >= cuSeqlens[seg + 1]) seg++;
      if (cuSeqlens[seg] > a) a = cuSeqlens[seg];
      if (cuSeqlens[seg + 1] - 1 < z) z = cuSeqlens[seg + 1] - 1;
    }
    lo[i] = a;
    hi[i] = z;
  }
  return { lo, hi };
}

/**
 * Copy one KV head into a contiguous buffer, row-major `[seqlenK, dp]` (`transposed` false) or
 * column-major `[dp, ldt]` (true). Padding rows/columns are never written (they stay zero).
 */
export function packKvHead(src: Float32Array, dst: Float32Array, b: number, kh: number, p: HostAttentionProblem, dp: number, transposed = false, ldt = 0): void {
  const { seqlenK: LK, kvRows, nKvHeads: HK, headDim: D } = p;
  for (let j = 0; j < LK; j++) {
    const o = ((b * kvRows + j) * HK + kh) * D;
    if (transposed) for (let d = 0; d < D; d++) dst[d * ldt + j] = src[o + d];
    else for (let d = 0; d < D; d++) dst[j * dp + d] = src[o + d];
  }
}

let lastBytes = 0;

/** Record the scratch bytes a kernel allocated (for the memory test and the benchmark). */
export function recordWorkspace(bytes: number): void {
  lastBytes = bytes;
}

/** Scratch bytes allocated by the last CPU attention kernel that ran (besides its outputs). */
export function lastWorkspaceBytes(): number {
  return lastBytes;
}

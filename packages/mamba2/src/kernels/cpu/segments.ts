/**
 * Packed-sequence boundaries for the CPU kernels: from `seqIdx` (one sequence id per position),
 * the start of the segment each position belongs to. A boundary is a position t ≥ 1 whose id
 * differs from the id at t − 1; nothing flows across it (no state, no convolution tap).
 */

/** The start of a segment that began before position 0 (the initial state's segment). @internal */
export const NO_BOUNDARY = -0x40000000;

/**
 * Fill `out[t]` (t < len) with the latest boundary position ≤ t, or {@link NO_BOUNDARY} when there
 * is none, from `seqIdx[off + t]`; without `seqIdx` every entry is NO_BOUNDARY.
 * A value at position s feeds position t ≥ s exactly when `s >= out[t]`.
 * @internal
 */
export function segmentStarts(seqIdx: Int32Array | undefined, off: number, len: number, out: Int32Array): void {
  let start = NO_BOUNDARY;
  for (let t = 0; t < len; t++) {
    if (seqIdx && t > 0 && seqIdx[off + t] !== seqIdx[off + t - 1]) start = t;
    out[t] = start;
  }
}

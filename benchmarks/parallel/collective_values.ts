// The inputs of benchmarks/parallel/collectives_bw.ts (and of tools/device/torch_collectives_bw.py,
// which uses the same formulas) and what each collective must give: small integers, so every sum
// is exact in float32 (the largest, at 8 ranks, is 36 + 8 × 250 = 2036 < 2^24) and a result is
// right only if it is equal element for element.
//   all-reduce      rank r's x[i] = (r + 1) + i mod 251        sum[i] = n(n+1)/2 + n·(i mod 251)
//   all-gather      rank r's x[i] = 256·r + i mod 251          out[r·m + i] = 256·r + i mod 251
//   reduce-scatter  rank r's x[j] = (r + 1) + j mod 251        rank q's out[i] = n(n+1)/2 + n·((q·m + i) mod 251)

/** The three collectives measured. */
export type CollectiveName = 'all_reduce' | 'all_gather' | 'reduce_scatter';

/** Bus bandwidth factor (nccl-tests' convention): 2(n−1)/n for all-reduce, (n−1)/n for all-gather and reduce-scatter. */
export function busFactor(op: CollectiveName, n: number): number {
  return op === 'all_reduce' ? (2 * (n - 1)) / n : (n - 1) / n;
}

/**
 * This rank's input.
 * @param op - the collective
 * @param rank - this rank, 0 … n−1
 * @param count - elements of the whole buffer (a multiple of n): all-reduce and reduce-scatter take `[count]`, all-gather `[count / n]`
 * @param n - ranks
 * @returns the input values
 */
export function inputOf(op: CollectiveName, rank: number, count: number, n: number): Float32Array {
  const len = op === 'all_gather' ? count / n : count;
  const x = new Float32Array(len);
  const base = op === 'all_gather' ? 256 * rank : rank + 1;
  for (let i = 0; i < len; i++) x[i] = base + (i % 251);
  return x;
}

/**
 * The first element of this rank's output that differs from the collective's arithmetic.
 * @param op - the collective
 * @param rank - this rank
 * @param count - elements of the whole buffer
 * @param n - ranks
 * @param out - the output (all-reduce and all-gather: `[count]`; reduce-scatter: `[count / n]`)
 * @returns undefined when every element is right, else `out[i] = got, want w` (or a length mismatch)
 */
export function firstMismatch(op: CollectiveName, rank: number, count: number, n: number, out: ArrayLike<number>): string | undefined {
  const m = count / n;
  const len = op === 'reduce_scatter' ? m : count;
  if (out.length !== len) return `length ${out.length}, want ${len}`;
  const tri = (n * (n + 1)) / 2;
  for (let i = 0; i < len; i++) {
    let want: number;
    if (op === 'all_reduce') want = tri + n * (i % 251);
    else if (op === 'all_gather') want = 256 * Math.floor(i / m) + ((i % m) % 251);
    else want = tri + n * ((rank * m + i) % 251);
    if (out[i] !== want) return `out[${i}] = ${out[i]}, want ${want}`;
  }
  return undefined;
}

/**
 * The inner product of the CPU attention kernels: C += A·Bᵀ on row-major float32 tiles with a
 * float64 accumulator tile, register-blocked 2 rows × 4 columns (eight independent sums per pass
 * over k, which is what lets V8's JIT keep the loop in registers: ~3× a plain dot loop here).
 */

/**
 * `C[m, n] += Σ_k A[m, k] · B[n, k]` for m < M, n < N. M must be even and N a multiple of 4;
 * callers pad their tiles (padding rows of A/B hold zeros or are ignored).
 *
 * @param a - A, rows at `aOff + m·lda`
 * @param b - B, rows at `bOff + n·ldb`
 * @param c - C, element (m, n) at `cOff + m·ldc + n`
 */
export function tileProductNT(
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
  M: number,
  N: number,
  K: number,
): void {
  for (let m = 0; m < M; m += 2) {
    const a0 = aOff + m * lda;
    const a1 = a0 + lda;
    for (let n = 0; n < N; n += 4) {
      const b0 = bOff + n * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const y0 = b[b0 + k];
        const y1 = b[b1 + k];
        const y2 = b[b2 + k];
        const y3 = b[b3 + k];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
      }
      const o = cOff + m * ldc + n;
      c[o] += c00;
      c[o + 1] += c01;
      c[o + 2] += c02;
      c[o + 3] += c03;
      c[o + ldc] += c10;
      c[o + ldc + 1] += c11;
      c[o + ldc + 2] += c12;
      c[o + ldc + 3] += c13;
    }
  }
}

/** Round up to a multiple of 4. */
export function roundUp4(n: number): number {
  return (n + 3) & ~3;
}

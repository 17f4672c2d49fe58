/**
 * The inner products every CPU kernel of this package is built on, over float64 runs:
 * {@link dot} (one dot product, unrolled by four) and {@link gemmNT} (a small matrix product with
 * 2×2 register blocking, four loads per four multiply-adds). In V8's scalar code these are the
 * fastest forms measured on the development machine (an axpy that stores every step runs at
 * about half their rate).
 */

/** `Σ_k a[ao + k]·b[bo + k]`, k < len. @internal */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < len; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + (s2 + s3);
}

/**
 * `C[m][j] (+)= Σ_{k0 ≤ k < k1} A[m][k]·B[j][k]` for m < rows, j < cols (A and B row-major with
 * leading dimensions lda, ldb; C with ldc). Adds to C when `accumulate`, else overwrites.
 * @internal
 */
export function gemmNT(
  rows: number,
  cols: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
  k0: number,
  k1: number,
  accumulate: boolean,
): void {
  let m = 0;
  for (; m + 1 < rows; m += 2) {
    const a0 = aOff + m * lda;
    const a1 = a0 + lda;
    const c0 = cOff + m * ldc;
    const c1 = c0 + ldc;
    let j = 0;
    for (; j + 1 < cols; j += 2) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = k0; k < k1; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const y0 = B[b0 + k];
        const y1 = B[b1 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      if (accumulate) {
        C[c0 + j] += s00;
        C[c0 + j + 1] += s01;
        C[c1 + j] += s10;
        C[c1 + j + 1] += s11;
      } else {
        C[c0 + j] = s00;
        C[c0 + j + 1] = s01;
        C[c1 + j] = s10;
        C[c1 + j + 1] = s11;
      }
    }
    if (j < cols) {
      const b0 = bOff + j * ldb;
      const s0 = dot(A, a0 + k0, B, b0 + k0, k1 - k0);
      const s1 = dot(A, a1 + k0, B, b0 + k0, k1 - k0);
      if (accumulate) {
        C[c0 + j] += s0;
        C[c1 + j] += s1;
      } else {
        C[c0 + j] = s0;
        C[c1 + j] = s1;
      }
    }
  }
  if (m < rows) {
    const a0 = aOff + m * lda;
    const c0 = cOff + m * ldc;
    for (let j = 0; j < cols; j++) {
      const s = dot(A, a0 + k0, B, bOff + j * ldb + k0, k1 - k0);
      if (accumulate) C[c0 + j] += s;
      else C[c0 + j] = s;
    }
  }
}

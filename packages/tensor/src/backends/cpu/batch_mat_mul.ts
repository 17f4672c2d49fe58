/**
 * A faster cpu kernel for tfjs's `BatchMatMul` (every matrix product, forward and backward),
 * replacing tfjs-backend-cpu's blocked loop, whose inner loop strides through B by columns.
 * Here every inner loop runs over contiguous memory: `A·Bᵀ` as row·row dot products (4 columns at
 * a time), `A·B` as row axpys; a transposed A is copied once. Batch dims broadcast as tfjs does
 * (one side with batch 1); other layouts fall back to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

type F32 = Float32Array;

/** C[m, n] += Σ_k A[m, k] · B[n, k] (B given as [n, k]). */
function matmulNT(a: F32, ao: number, b: F32, bo: number, c: F32, co: number, m: number, n: number, k: number): void {
  for (let i = 0; i < m; i++) {
    const ar = ao + i * k;
    const cr = co + i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = bo + j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < k; p++) {
        const x = a[ar + p];
        s0 += x * b[b0 + p];
        s1 += x * b[b1 + p];
        s2 += x * b[b2 + p];
        s3 += x * b[b3 + p];
      }
      c[cr + j] = s0;
      c[cr + j + 1] = s1;
      c[cr + j + 2] = s2;
      c[cr + j + 3] = s3;
    }
    for (; j < n; j++) {
      const br = bo + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ar + p] * b[br + p];
      c[cr + j] = s;
    }
  }
}

/** C[m, n] = Σ_k A[m, k] · B[k, n] (B given as [k, n]), two rows of C at a time. */
function matmulNN(a: F32, ao: number, b: F32, bo: number, c: F32, co: number, m: number, n: number, k: number): void {
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const c0 = co + i * n;
    const c1 = c0 + n;
    const a0 = ao + i * k;
    const a1 = a0 + k;
    for (let p = 0; p < k; p++) {
      const x0 = a[a0 + p];
      const x1 = a[a1 + p];
      const br = bo + p * n;
      for (let j = 0; j < n; j++) {
        const y = b[br + j];
        c[c0 + j] += x0 * y;
        c[c1 + j] += x1 * y;
      }
    }
  }
  for (; i < m; i++) {
    const cr = co + i * n;
    const ar = ao + i * k;
    for (let p = 0; p < k; p++) {
      const x = a[ar + p];
      const br = bo + p * n;
      for (let j = 0; j < n; j++) c[cr + j] += x * b[br + j];
    }
  }
}

/** The transpose of each [r, c] matrix of a batch. */
function transposeBatch(x: F32, batch: number, r: number, c: number): F32 {
  const out = new Float32Array(x.length);
  for (let bi = 0; bi < batch; bi++) {
    const o = bi * r * c;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[o + j * r + i] = x[o + i * c + j];
  }
  return out;
}

/** Register the kernel for the cpu backend (idempotent). @internal */
export function registerFastBatchMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'cpu');
  if (!original || (original.kernelFunc as { falcon?: boolean }).falcon) return;
  const fallback = original.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as tf.KernelBackend;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback(args);
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const m = transposeA ? ac : ar;
    const k = transposeA ? ar : ac;
    const kb = transposeB ? bc : br;
    const n = transposeB ? br : bc;
    if (k !== kb) return fallback(args); // tfjs's kernel reports the mismatch
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const batch = Math.max(batchA, batchB);
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return fallback(args);
    let batchShape: number[];
    try {
      batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      return fallback(args);
    }
    if (batchShape.reduce((x, y) => x * y, 1) !== batch) return fallback(args);
    let av = backend.readSync(a.dataId) as F32;
    const bv = backend.readSync(b.dataId) as F32;
    if (transposeA) av = transposeBatch(av, batchA, ar, ac);
    const out = new Float32Array(batch * m * n);
    for (let bi = 0; bi < batch; bi++) {
      const ao = (batchA === 1 ? 0 : bi) * m * k;
      const bo = (batchB === 1 ? 0 : bi) * k * n;
      const co = bi * m * n;
      if (transposeB) matmulNT(av, ao, bv, bo, out, co, m, n, k);
      else matmulNN(av, ao, bv, bo, out, co, m, n, k);
    }
    const shape = [...batchShape, m, n];
    return { dataId: backend.write(out, shape, 'float32'), shape, dtype: 'float32' };
  };
  (kernelFunc as { falcon?: boolean }).falcon = true;
  tf.unregisterKernel('BatchMatMul', 'cpu');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'cpu', kernelFunc });
}

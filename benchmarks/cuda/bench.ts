// CUDA backend benchmarks, run on the GPU machine by tools/device/cuda-tests.ts (the device
// runner) with the cuda backend active: matrix products through cuBLASLt (exact f32 and TF32,
// median of CUDA-event timings), memory-bound kernels against the copy bandwidth, and the
// per-op overhead of small ops (JavaScript, N-API and kernel launch).
import { tf } from '@falcon/tensor';
import type { CudaBackend } from '@falcon/tensor';
import { cudaComposites } from '@falcon/tensor/testing';

const { attention, linear, rmsNorm, silu } = cudaComposites;

/** One timing: median milliseconds and the derived rate. */
export interface Timing {
  /** Median milliseconds. */
  ms: number;
  /** TFLOP/s (products), GB/s (memory-bound), µs per op (overhead) or tokens/s (composites). */
  rate: number;
  /** Unit of `rate`. */
  unit: 'TFLOP/s' | 'GB/s' | 'us/op' | 'tokens/s';
}

async function median(f: () => void, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push((await tf.time(f)).kernelMs as number);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** [n, n]·[n, n] float32 products in each precision (bf16: operands rounded to bf16 on the device, f32 accumulation) (3 warm-ups, median of `reps`). */
export async function benchMatmul(n: number, reps = 10): Promise<Record<string, Timing>> {
  const b = tf.backend() as CudaBackend;
  const old = b.matmulPrecision;
  const a = tf.randomUniform([n, n], -1, 1);
  const c = tf.randomUniform([n, n], -1, 1);
  const out: Record<string, Timing> = {};
  for (const precision of ['f32', 'tf32', 'bf16'] as const) {
    b.matmulPrecision = precision;
    for (let i = 0; i < 3; i++) tf.dispose(tf.matMul(a, c));
    b.synchronize();
    const ms = await median(() => tf.dispose(tf.matMul(a, c)), reps);
    out[`${n}³ ${precision}`] = { ms, rate: (2 * n ** 3) / (ms * 1e-3) / 1e12, unit: 'TFLOP/s' };
  }
  b.matmulPrecision = old;
  tf.dispose([a, c]);
  return out;
}

/** Element-wise add, a full sum, a transpose and a softmax over 2^28 floats (1 GiB per operand). */
export async function benchMemoryBound(): Promise<Record<string, Timing>> {
  const n = 1 << 28;
  const x = tf.fill([n], 1.5);
  const y = tf.fill([n], 0.5);
  const res: Record<string, Timing> = {};
  const run = async (name: string, bytes: number, f: () => void) => {
    const g = () => tf.tidy(f);
    g();
    const ms = await median(g, 5);
    res[name] = { ms, rate: bytes / (ms * 1e-3) / 1e9, unit: 'GB/s' };
  };
  await run('add 2^28 f32 (3 × 1 GiB)', 3 * 4 * n, () => {
    tf.add(x, y);
  });
  await run('sum 2^28 f32 (1 GiB read)', 4 * n, () => {
    tf.sum(x);
  });
  await run('sum [2^14, 2^14] axis 0 (1 GiB read)', 4 * n, () => {
    tf.sum(tf.reshape(x, [16384, 16384]), 0);
  });
  await run('transpose 16384² f32 (2 × 1 GiB)', 2 * 4 * n, () => {
    tf.transpose(tf.reshape(x, [16384, 16384]));
  });
  await run('softmax [2^18, 1024] (2 × 1 GiB)', 2 * 4 * n, () => {
    tf.softmax(tf.reshape(x, [1 << 18, 1024]));
  });
  tf.dispose([x, y]);
  return res;
}

/** Host-side cost of one small op (tf.add of two [16] tensors), averaged over 20 000 ops. */
export async function benchOverhead(): Promise<Record<string, Timing>> {
  const b = tf.backend() as CudaBackend;
  const x = tf.ones([16]);
  const ops = 20000;
  for (let i = 0; i < 1000; i++) tf.dispose(tf.add(x, x));
  b.synchronize();
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) tf.dispose(tf.add(x, x));
  b.synchronize();
  const ms = performance.now() - t0;
  x.dispose();
  return { 'tf.add [16] (host + launch)': { ms, rate: (ms * 1000) / ops, unit: 'us/op' } };
}

/**
 * Forward + backward (tf.grads) of the plain-tfjs attention and SwiGLU-MLP composites at a
 * Falcon-H1-0.5B-like width (d 1024, 8 query / 2 KV heads of 64, f 2816) for 1 × 2048 tokens: the
 * generic-kernel path the fused op kernels of the second half will replace.
 */
export async function benchComposites(dims = { l: 2048, d: 1024, H: 8, Hkv: 2, hd: 64, f: 2816 }): Promise<Record<string, Timing>> {
  const b = tf.backend() as CudaBackend;
  const { l, d, H, Hkv, hd, f } = dims;
  const r = (shape: number[], s: number) => tf.randomUniform(shape, -s, s);
  const u = r([1, l, d], 1);
  const w = { q: r([H * hd, d], 0.03), k: r([Hkv * hd, d], 0.03), v: r([Hkv * hd, d], 0.03), o: r([d, H * hd], 0.03), n: tf.ones([d]) };
  const m = { g: r([f, d], 0.03), u: r([f, d], 0.03), d: r([d, f], 0.02) };
  const out: Record<string, Timing> = {};
  const run = async (name: string, fn: () => tf.Tensor[]) => {
    tf.dispose(tf.tidy(fn));
    b.synchronize();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      tf.dispose(tf.tidy(fn));
      b.synchronize();
      times.push(performance.now() - t0);
    }
    times.sort((p, q) => p - q);
    out[name] = { ms: times[2], rate: (l / times[2]) * 1000, unit: 'tokens/s' };
  };
  const attnLoss = (x: tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: tf.Tensor) => tf.sum(tf.square(attention(rmsNorm(x, w.n), q, k, v, o, H, Hkv)));
  const mlpLoss = (x: tf.Tensor, g: tf.Tensor, up: tf.Tensor, dn: tf.Tensor) => tf.sum(tf.square(linear(tf.mul(linear(x, up), silu(linear(x, g))), dn)));
  await run(`attention fwd+bwd [1,${l},${d}] (wall ms)`, () => tf.grads(attnLoss)([u, w.q, w.k, w.v, w.o]));
  await run(`swiglu mlp fwd+bwd [1,${l},${d}]→${f} (wall ms)`, () => tf.grads(mlpLoss)([u, m.g, m.u, m.d]));
  tf.dispose([u, ...Object.values(w), ...Object.values(m)]);
  return out;
}

// The cuda backend's bf16 matrix products (matmulPrecision 'bf16') over the emulated addon: the
// self-test's bf16 cases pass (the emulator rounds the operands as csrc/bf16_cast.cu does), the
// kernel passes the precision code the addon expects (int32 products always exact), an unknown
// precision is a clear error, and the cases fail when the products silently skip the rounding.
// The device runner (tools/device/run-cuda.sh) runs the same cases on the real addon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, initBackend, tf } from '../src/index.js';
import type { TensorNative } from '../src/backends/cuda/addon.js';
import type { CudaBackend, MatmulPrecision } from '../src/backends/cuda/backend.js';
import { registerEmulatedCudaBackend, runCudaSelfTest } from '../src/testing/index.js';

const status = (await availableBackends()).find((s) => s.name === 'cuda')!;

describe.skipIf(status.available)('cuda bf16 matrix products over the emulated addon', () => {
  let previous: string;
  let backend: CudaBackend;
  beforeAll(async () => {
    await initBackend('cpu');
    previous = tf.getBackend();
    registerEmulatedCudaBackend('f32');
    await tf.setBackend('cuda');
    backend = tf.backend() as unknown as CudaBackend;
    await tf.setBackend(previous);
  });
  afterAll(async () => {
    await tf.setBackend(previous);
    tf.removeBackend('cuda');
  });

  /** Runs `f` with the backend's native matmul replaced by `wrap(params, original)`. */
  async function patched<T>(wrap: (p: Parameters<TensorNative['matmul']>[0], original: TensorNative['matmul']) => void, f: () => Promise<T>): Promise<T> {
    const native = backend.native;
    const original = native.matmul;
    native.matmul = (p) => wrap(p, original);
    try {
      return await f();
    } finally {
      native.matmul = original;
    }
  }

  /** Runs `f` on cuda with every native matmul call's precision recorded. */
  async function recording(f: () => void): Promise<number[]> {
    const seen: number[] = [];
    await patched(
      (p, original) => {
        seen.push(p.precision);
        original(p);
      },
      async () => {
        await tf.setBackend('cuda');
        try {
          f();
        } finally {
          await tf.setBackend(previous);
        }
      },
    );
    return seen;
  }

  it("passes the self-test's bf16 cases (values and gradients against float64 of bf16 inputs, int32 exact, differs from f32)", async () => {
    const results = await runCudaSelfTest({ filter: 'matmul bf16', precision: false });
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.note}`)).toEqual([]);
    expect(results.length).toBe(21);
  });

  it('passes precision 2 for float32 products under bf16, 1 under tf32, 0 under f32 and for int32 products', async () => {
    const codes: Record<string, number[]> = {};
    for (const p of ['bf16', 'tf32', 'f32'] as MatmulPrecision[]) {
      backend.matmulPrecision = p;
      codes[p] = await recording(() => {
        tf.tidy(() => {
          tf.matMul(tf.ones([3, 5]), tf.ones([5, 2]));
          tf.fused.matMul({ a: tf.ones([3, 5]), b: tf.ones([5, 2]), bias: tf.ones([2]), activation: 'relu' });
          tf.matMul(tf.ones([3, 5], 'int32'), tf.ones([5, 2], 'int32'));
        });
      });
    }
    backend.matmulPrecision = 'f32';
    expect(codes).toEqual({ bf16: [2, 2, 0], tf32: [1, 1, 0], f32: [0, 0, 0] });
  });

  it('an unknown matmulPrecision is a clear error before any product runs', async () => {
    backend.matmulPrecision = 'fp16' as MatmulPrecision;
    try {
      const seen = await recording(() => expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])))).toThrow("BatchMatMul: the cuda backend's matmulPrecision must be 'tf32', 'bf16' or 'f32', got 'fp16'"));
      expect(seen).toEqual([]);
    } finally {
      backend.matmulPrecision = 'f32';
    }
  });

  it('the bf16 cases fail when the products silently stay f32 (all but the int32 and non-finite ones, which hold in f32 too)', async () => {
    const results = await patched((p, original) => original({ ...p, precision: p.precision === 2 ? 0 : p.precision }), () => runCudaSelfTest({ filter: 'matmul bf16', precision: false }));
    const passed = results.filter((r) => r.ok).map((r) => r.name);
    expect(passed).toEqual(['int32 [5,7]·[7,3] under bf16 stays exact', 'NaN, +Inf, −Inf operands under bf16 give the rows f32 gives']);
    expect(results.length).toBe(21);
  });
});

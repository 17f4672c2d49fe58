// Kernel rows of issue #13's goal table that have a kernel anchor outside the SSD and attention:
// causalConv1d (anchor: causal-conv1d's CUDA kernel, `causal_conv1d_fn`) and ternaryMatmul
// (anchor: `torch._int_mm`, int8 tensor cores on the decoded codes), and the 'bf16' float32
// product (anchor: `torch.matmul` in bfloat16, cuBLAS), at the token counts a 0.5B
// training step uses (4 × 2048 and 1 × 8192; channels 1792 = d_ssm + 2·state, the 0.5B conv width).
// Each row: median GPU time (tfjs kernelMs, CUDA events) and median wall time per call, forward and
// forward+backward (tf.grads of Σ y·dy), and the floor (bytes over the copy bandwidth measured here;
// int8 products also over the int8 tensor-core rate). The anchor's numbers come from
// tools/device/kernel_anchors.py in the same device call (JSON path in $TORCH_KERNELS).
// Run on the GPU machine by tools/device/run-anchors.sh; writes <out>/kernel-anchors.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { causalConv1d } from '@falcon/mamba2';
import { packTernary, packedWeightTensor, ternaryMatmul } from '@falcon/bitnet';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '/tmp/falcon-out');
/** Dense int8 tensor-core rate of the H200 (SXM, no sparsity), TOP/s (the bf16 rows' floor uses it halved). */
const INT8_PEAK = 1979;

interface Row {
  name: string;
  inputs: () => Record<string, Tensor>;
  run: (t: Record<string, Tensor>) => Tensor;
  grads: string[];
  /** Bytes the forward must move at least, in our storage (float32 activations). */
  bytes: number;
  /** Integer ops for the int8 floor (0: memory-bound). */
  ops: number;
}

const CONV = 1792;
const conv = (b: number, l: number): Row => ({
  name: `causalConv1d [${b}, ${l}, ${CONV}] w4 silu`,
  inputs: () => ({ x: randomTensor([b, l, CONV], 1), w: randomTensor([CONV, 4], 2, { std: 0.5 }), bias: randomTensor([CONV], 3) }),
  run: ({ x, w, bias }) => causalConv1d(x, w, { bias, silu: true }).y,
  grads: ['x', 'w', 'bias'],
  bytes: 2 * b * l * CONV * 4,
  ops: 0,
});
const ternary = (m: number, k: number, n: number): Row => ({
  name: `ternaryMatmul x[${m}, ${k}] · W[${n}, ${k}]ᵀ (2-bit)`,
  inputs: () => {
    const w = randomTensor([n, k], 2, { dtype: 'int32', min: -1, max: 2 });
    const packed = packedWeightTensor(packTernary(w.dataSync(), n, k));
    w.dispose();
    return { x: randomTensor([m, k], 1, { dtype: 'int32', min: -127, max: 128 }), packed };
  },
  run: ({ x, packed }) => ternaryMatmul(x, packed, n),
  grads: [],
  // int32-typed activations in and out (tfjs has no int8 dtype), the 2-bit weight once
  bytes: (m * k + m * n) * 4 + (n * k) / 4,
  ops: 2 * m * k * n,
});

/** A square float32 product under the backend's 'bf16' precision (operands rounded to bf16, f32 accumulation). */
const gemm = (n: number): Row => ({
  name: `matMul [${n}, ${n}]·[${n}, ${n}] bf16`,
  inputs: () => ({ a: randomTensor([n, n], 1), b: randomTensor([n, n], 2) }),
  run: ({ a, b }) => tf.matMul(a, b),
  grads: [],
  bytes: 3 * n * n * 4,
  ops: 2 * n ** 3,
});

const ROWS: Row[] = [conv(4, 2048), conv(1, 8192), ternary(8192, 1024, 2048), ternary(8192, 2048, 1024), gemm(8192), gemm(4096)];

async function timeIt(f: () => void, reps = 20): Promise<{ gpuMs: number; wallMs: number }> {
  f();
  f();
  const gpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    gpu.push((await tf.time(f)).kernelMs as number);
    wall.push(performance.now() - t0);
  }
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { gpuMs: med(gpu), wallMs: med(wall) };
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const info = await initBackend('cuda');
  (tf.backend() as unknown as { matmulPrecision: string }).matmulPrecision = 'bf16';
  const a = tf.fill([1 << 28], 1);
  const bwMs = (await timeIt(() => tf.dispose(tf.add(a, a)), 10)).gpuMs;
  a.dispose();
  const bw = (3 * (1 << 28) * 4) / (bwMs * 1e-3);
  let anchor: Record<string, unknown> = {};
  try {
    anchor = JSON.parse(readFileSync(process.env.TORCH_KERNELS ?? '', 'utf8'));
  } catch {
    console.log('(no anchor numbers)');
  }
  const rows: Record<string, unknown>[] = [];
  for (const row of ROWS) {
    const t = row.inputs();
    const peak = row.name.includes('bf16') ? INT8_PEAK / 2 : INT8_PEAK;
    const out: Record<string, unknown> = { name: row.name, floorBytesMs: (row.bytes / bw) * 1e3, floorOpsMs: (row.ops / (peak * 1e12)) * 1e3 };
    try {
      out.forward = await timeIt(() => tf.dispose(row.run(t)));
      if (row.grads.length) {
        const dy = tf.tidy(() => tf.randomNormal(row.run(t).shape));
        const g = tf.grads((...xs: Tensor[]) => {
          const ins = { ...t };
          row.grads.forEach((n, i) => (ins[n] = xs[i]));
          return tf.sum(tf.mul(row.run(ins), dy));
        });
        out.forwardBackward = await timeIt(() => tf.dispose(g(row.grads.map((n) => t[n]))));
        dy.dispose();
      }
    } catch (e) {
      out.error = (e as Error).message;
    }
    tf.dispose(Object.values(t));
    rows.push(out);
    console.log(JSON.stringify(out));
  }
  writeFileSync(join(outDir, 'kernel-anchors.json'), JSON.stringify({ date: new Date().toISOString(), device: info.info, bandwidthGBs: bw / 1e9, int8PeakTops: INT8_PEAK, rows, anchor }, null, 1));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);

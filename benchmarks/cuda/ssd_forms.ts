// The SSD scan on the `cuda` backend in its two forms, forward and forward+backward (tf.grads of
// sum(y·dy) over x, dt, A, B, C, D, dtBias), at Falcon-H1-0.5B's Mamba-2 shapes (h 24, p 64,
// n 128, one group, chunk 128, D, dt_bias, softplus): `kernel` (the sequential CUDA kernels,
// csrc/ssd_sequential_scan*.cu), `recompute` (that forward, the matmul form's backward) and `matmul` (the chunked form as batched cuBLASLt products and
// element-wise kernels, src/ssd_chunked.ts; the backend's matmulPrecision applies), next to
// mamba-ssm's Triton `mamba_chunk_scan_combined` measured in the same device call by
// the anchor script anchor_ssd.py ($FALCON_ANCHORS) ($ANCHOR_SSD: its JSON). Each figure is the median of 5 timings
// (tf.time's kernel time) after a warm-up; the allocator peak of one forward+backward is recorded.
// Also the agreement of the two forms on the first shape (relative error norms of y, the final
// state and every gradient; the matmul form runs its products in TF32).
// Floors: the chunked form's FLOPs (2·b·l·h·Q·(n + p) intra-chunk + 4·b·l·h·n·p states and output)
// over the measured TF32 rate, and the bytes of its inputs and output over the measured bandwidth.
// Writes <out>/ssd-forms.json. Bundled by tools/device/prepare-ssd.sh, run by tools/device/run-ssd.sh.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend, Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { ssdChunkScan } from '@falcon/mamba2';
import type { SsdForm } from '@falcon/mamba2';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '/tmp/falcon-out');
const [h, p, n, Q] = [24, 64, 128, 128];
/** [batch, seqlen]; the last is the kernel goal's shape. */
const SHAPES: [number, number][] = [
  [1, 2048],
  [4, 2048],
  [1, 8192],
  [4, 8192],
];
const FORMS: SsdForm[] = ['kernel', 'matmul', 'recompute'];
/** The matmul form's block length is free (the result does not depend on it): also measured at $SSD_OTHER_CHUNKS (e.g. 64,256). */
const OTHER_CHUNKS: number[] = (process.env.SSD_OTHER_CHUNKS ?? '').split(',').filter(Boolean).map(Number);
const cuda = () => tf.backend() as CudaBackend;
const mem = () => cuda().memory() as unknown as { bytesInUse: number; peakBytesInUse: number };

async function timeMs(f: () => Tensor | Tensor[]): Promise<number> {
  const once = async () => (await tf.time(() => tf.dispose(f()))).kernelMs as number;
  await once();
  const ts = [await once(), await once(), await once(), await once(), await once()].sort((a, b) => a - b);
  return ts[2];
}

function inputs(b: number, l: number, seed: number): Tensor[] {
  return tf.tidy(() => [
    randomTensor([b, l, h, p], seed),
    tf.mul(randomTensor([b, l, h], seed + 1), 0.5),
    tf.neg(tf.add(tf.mul(tf.abs(randomTensor([h], seed + 2)), 1.5), 0.5)),
    randomTensor([b, l, 1, n], seed + 3),
    randomTensor([b, l, 1, n], seed + 4),
    randomTensor([h], seed + 5),
    randomTensor([h], seed + 6),
  ]);
}

const run = (form: SsdForm, final = false, chunkSize = Q) => (x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor, dtBias: Tensor) => {
  const r = ssdChunkScan(x, dt, A, B, C, { D, dtBias, dtSoftplus: true, chunkSize, form, returnFinalStates: final });
  return r.finalStates ? [r.y, r.finalStates] : [r.y];
};

/** ‖a − b‖ / ‖b‖. */
async function relNorm(a: Tensor, b: Tensor): Promise<number> {
  const [d, e] = await Promise.all([tf.norm(tf.sub(a, b)).data(), tf.norm(b).data()]);
  return d[0] / e[0];
}

/** Matrix rate (TF32 cuBLASLt, 8192³) and copy bandwidth (1 GiB) of this GPU, measured here. */
async function rates(): Promise<{ tf32Tflops: number; copyGBs: number }> {
  const a = randomTensor([8192, 8192], 1);
  const mm = await timeMs(() => tf.matMul(a, a));
  const big = randomTensor([2 ** 28], 2);
  const cp = await timeMs(() => tf.add(big, 0));
  const r = { tf32Tflops: (2 * 8192 ** 3) / mm / 1e9, copyGBs: (2 * 4 * 2 ** 28) / cp / 1e6 };
  tf.dispose([a, big]);
  return r;
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await initBackend('cuda');
  const anchor = process.env.ANCHOR_SSD && existsSync(process.env.ANCHOR_SSD) ? (JSON.parse(readFileSync(process.env.ANCHOR_SSD, 'utf8')) as { rows: Record<string, number | string>[] }) : undefined;
  const machine = await rates();
  console.log(`measured: TF32 ${machine.tf32Tflops.toFixed(0)} TFLOP/s, copy ${machine.copyGBs.toFixed(0)} GB/s`);
  const rows: Record<string, unknown>[] = [];
  let agreement: Record<string, number> | undefined;
  let profile: { name: string; count: number; ms: number }[] | undefined;
  for (const [b, l] of SHAPES) {
    const ins = inputs(b, l, 7);
    const dy = randomTensor([b, l, h, p], 99);
    const flops = 2 * b * l * h * Q * (n + p) + 4 * b * l * h * n * p;
    const bytes = 4 * (2 * b * l * h * p + b * l * h + 2 * b * l * n);
    const floorMs = Math.max(flops / machine.tf32Tflops / 1e9, bytes / machine.copyGBs / 1e6);
    const shape = `b${b} l${l} h${h} p${p} n${n} chunk ${Q}`;
    for (const [form, chunk] of [...FORMS.map((f) => [f, Q] as const), ...OTHER_CHUNKS.map((c) => ['matmul', c] as const)]) {
      const f = run(form, false, chunk);
      const grad = tf.grads((...t: Tensor[]) => tf.sum(tf.mul(f(...(t as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]))[0], dy)));
      const fwd = await timeMs(() => f(...(ins as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor])));
      const fb = await timeMs(() => grad(ins));
      cuda().resetPeakMemory();
      const before = mem().bytesInUse;
      tf.dispose(grad(ins));
      const peakGiB = (mem().peakBytesInUse - before) / 2 ** 30;
      const row = { shape, b, l, form, chunk, forwardMs: fwd, forwardBackwardMs: fb, peakGiB, floorForwardMs: floorMs };
      rows.push(row);
      console.log(`${shape} ${form} (blocks of ${chunk}): forward ${fwd.toFixed(3)} ms, forward+backward ${fb.toFixed(3)} ms, peak ${peakGiB.toFixed(2)} GiB (floor forward ${floorMs.toFixed(3)} ms)`);
    }
    for (const t of anchor?.rows.filter((r) => r.b === b && r.l === l) ?? []) {
      console.log(`${shape} mamba-ssm ${t.dtype}: forward ${(t.fwd_ms as number).toFixed(3)} ms, forward+backward ${(t.fwd_bwd_ms as number).toFixed(3)} ms`);
    }
    if (b === 4 && l === 2048) {
      // where the matmul form's time goes: GPU time per kernel name of one forward+backward
      const f = run('matmul');
      const grad = tf.grads((...t: Tensor[]) => tf.sum(tf.mul(f(...(t as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]))[0], dy)));
      const info = await tf.profile(() => tf.dispose(grad(ins)));
      const by = new Map<string, { count: number; ms: number }>();
      for (const k of info.kernels) {
        const e = by.get(k.name) ?? { count: 0, ms: 0 };
        e.count++;
        e.ms += Number(await k.kernelTimeMs);
        by.set(k.name, e);
      }
      const sorted = [...by.entries()].sort((x, y) => y[1].ms - x[1].ms);
      profile = sorted.map(([name, e]) => ({ name, ...e }));
      console.log(`matmul form ${shape}, forward+backward by kernel: ${sorted.map(([k, e]) => `${k} ×${e.count} ${e.ms.toFixed(2)} ms`).join(', ')}`);
    }
    if (!agreement) {
      const names = ['x', 'dt', 'A', 'B', 'C', 'D', 'dtBias'];
      const both = (['kernel', 'matmul'] as SsdForm[]).map((form) => {
        const f = run(form, true);
        const outs = f(...(ins as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
        const g = tf.grads((...t: Tensor[]) => tf.sum(tf.mul(f(...(t as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]))[0], dy)))(ins);
        return [...outs, ...g];
      });
      agreement = {};
      for (const [i, k] of ['y', 'finalStates', ...names.map((s) => `d${s}`)].entries()) agreement[k] = await relNorm(both[1][i], both[0][i]);
      console.log(`agreement matmul vs kernel (relative error norm): ${JSON.stringify(agreement)}`);
      tf.dispose(both);
    }
    tf.dispose([...ins, dy]);
  }
  writeFileSync(join(outDir, 'ssd-forms.json'), JSON.stringify({ date: new Date().toISOString(), machine, rows, agreement, profile, anchor }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Per-op CUDA benchmark at the layer shapes of Falcon-H1-0.5B (batch 1, seqlen 2048; spec table):
// each @falcon op's cuda kernel, forward and forward+backward (through tf.grads of Σ y·dy, as
// training runs it), median of CUDA-event timings, next to the floor of the op — bytes it must
// move over the copy bandwidth measured in the same run, and FLOPs over the f32 CUDA-core peak —
// and PyTorch's numbers for the same computation from tools/device/torch_ops_bench.py ($TORCH_OPS).
// Bundled and run on the GPU machine by tools/device/run-bench-ops.sh; writes <out>/ops-bench.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, rmsNorm, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { causalConv1d, gatedRmsNorm, ssdChunkScan } from '@falcon/mamba2';
import { flashAttention } from '@falcon/attention';
import { activationQuantInt8, packTernary, packedWeightTensor, ternaryMatmul, weightQuant } from '@falcon/bitnet';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '/tmp/falcon-out');
/** FP32 CUDA-core peak of the H200 (132 SMs × 128 FMA/clk × 2 × 1.98 GHz), TFLOP/s. */
const F32_PEAK = 67;

interface Bench {
  name: string;
  /** Builds the inputs; `grads` names those differentiated in the fwd+bwd timing. */
  inputs: () => Record<string, Tensor>;
  run: (t: Record<string, Tensor>) => Tensor;
  grads: string[];
  /** Bytes the forward must read and write at least, and its FLOPs (or integer ops). */
  bytes: number;
  flops: number;
  /** Peak rate for `flops` in TFLOP/s (default the f32 CUDA-core peak). */
  peak?: number;
}

const L = 2048;
const f32 = 4;

const BENCHES: Bench[] = [
  {
    name: 'rmsNorm [2048, 1024]',
    inputs: () => ({ x: randomTensor([L, 1024], 1), w: randomTensor([1024], 2) }),
    run: ({ x, w }) => rmsNorm(x, w, 1e-5),
    grads: ['x', 'w'],
    bytes: 2 * L * 1024 * f32,
    flops: 4 * L * 1024,
  },
  {
    name: 'causalConv1d [1, 2048, 1792] w4 silu',
    inputs: () => ({ x: randomTensor([1, L, 1792], 1), w: randomTensor([1792, 4], 2, { std: 0.5 }), b: randomTensor([1792], 3) }),
    run: ({ x, w, b }) => causalConv1d(x, w, { bias: b, silu: true }).y,
    grads: ['x', 'w', 'b'],
    bytes: 2 * L * 1792 * f32,
    flops: 2 * 4 * L * 1792,
  },
  {
    name: 'gatedRmsNorm [1, 2048, 1536] z',
    inputs: () => ({ x: randomTensor([1, L, 1536], 1), w: randomTensor([1536], 2), z: randomTensor([1, L, 1536], 3) }),
    run: ({ x, w, z }) => gatedRmsNorm(x, w, { z, eps: 1e-5 }),
    grads: ['x', 'w', 'z'],
    bytes: 3 * L * 1536 * f32,
    flops: 8 * L * 1536,
  },
  {
    name: 'ssdChunkScan b1 l2048 h24 p64 n128 chunk128',
    inputs: () => ({
      x: randomTensor([1, L, 24, 64], 1),
      dt: randomTensor([1, L, 24], 2, { std: 0.5 }),
      A: randomTensor([24], 3, { distribution: 'uniform', min: -2, max: -0.5 }),
      B: randomTensor([1, L, 1, 128], 4),
      C: randomTensor([1, L, 1, 128], 5),
      D: randomTensor([24], 6),
      dtBias: randomTensor([24], 7),
    }),
    run: ({ x, dt, A, B, C, D, dtBias }) => ssdChunkScan(x, dt, A, B, C, { D, dtBias, dtSoftplus: true, chunkSize: 128 }).y,
    grads: ['x', 'dt', 'A', 'B', 'C', 'D', 'dtBias'],
    bytes: (2 * L * 24 * 64 + 2 * L * 128 + L * 24) * f32,
    // Recurrent form: per position and head, state update and readout, 2 FLOPs each over p·n.
    flops: 4 * L * 24 * 64 * 128,
  },
  {
    name: 'flashAttention b1 l2048 8:2 heads d64 causal',
    inputs: () => ({ q: randomTensor([1, L, 8, 64], 1), k: randomTensor([1, L, 2, 64], 2), v: randomTensor([1, L, 2, 64], 3) }),
    run: ({ q, k, v }) => flashAttention(q, k, v, { causal: true }).out,
    grads: ['q', 'k', 'v'],
    bytes: (2 * L * 8 * 64 + 2 * L * 2 * 64) * f32,
    flops: (4 * 8 * L * L * 64) / 2,
  },
  {
    name: 'weightQuant [2048, 1024]',
    inputs: () => ({ w: randomTensor([2048, 1024], 1) }),
    run: ({ w }) => weightQuant(w).y,
    grads: ['w'],
    bytes: 2 * 2048 * 1024 * f32,
    flops: 3 * 2048 * 1024,
  },
  {
    name: 'activationQuantInt8 [2048, 1024]',
    inputs: () => ({ x: randomTensor([L, 1024], 1) }),
    run: ({ x }) => activationQuantInt8(x).q,
    grads: [],
    bytes: 2 * L * 1024 * f32,
    flops: 3 * L * 1024,
  },
  {
    name: 'ternaryMatmul x[2048, 1024] · W[2048, 1024]ᵀ (2-bit)',
    inputs: () => {
      const w = randomTensor([2048, 1024], 2, { dtype: 'int32', min: -1, max: 2 });
      const packed = packedWeightTensor(packTernary(w.dataSync(), 2048, 1024));
      w.dispose();
      return { x: randomTensor([L, 1024], 1, { dtype: 'int32', min: -127, max: 128 }), packed };
    },
    run: ({ x, packed }) => ternaryMatmul(x, packed, 2048),
    grads: [],
    bytes: (L * 1024 + L * 2048) * f32 + (2048 * 1024) / 4,
    flops: 2 * L * 1024 * 2048,
    // int8 dot products (dp4a): 4 per lane and cycle, 4× the f32 FMA rate
    peak: 4 * F32_PEAK,
  },
];

async function median(f: () => void, reps = 10): Promise<number> {
  f();
  f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push((await tf.time(f)).kernelMs as number);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const info = await initBackend('cuda');
  const bw = await (async () => {
    const n = 1 << 28;
    const a = tf.fill([n], 1);
    const ms = await median(() => tf.dispose(tf.add(a, a)));
    a.dispose();
    return (3 * n * f32) / (ms * 1e-3); // reads a twice, writes the sum
  })();
  let torch: Record<string, { fwd_ms: number; fwdbwd_ms: number; note?: string }> = {};
  try {
    torch = JSON.parse(readFileSync(process.env.TORCH_OPS ?? '', 'utf8'));
  } catch {
    console.log('(no PyTorch numbers)');
  }
  const rows: Record<string, unknown>[] = [];
  const fmt = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x < 0.01 ? x.toExponential(2) : x.toFixed(3));
  const table = ['| op (cuda, f32) | fwd ms | fwd+bwd ms | floor fwd ms (bytes / BW, FLOPs / f32 peak) | torch fwd ms | torch fwd+bwd ms |', '| --- | --- | --- | --- | --- | --- |'];
  for (const bench of BENCHES) {
    const t = bench.inputs();
    let fwd = NaN;
    let both = NaN;
    let error: string | undefined;
    try {
      fwd = await median(() => tf.dispose(bench.run(t)));
      if (!bench.grads.length) throw new Error('no gradient');
      const dy = tf.tidy(() => tf.randomNormal(bench.run(t).shape));
      const names = bench.grads;
      const g = tf.grads((...xs: Tensor[]) => {
        const ins = { ...t };
        names.forEach((n, i) => (ins[n] = xs[i]));
        return tf.sum(tf.mul(bench.run(ins), dy));
      });
      both = await median(() => tf.dispose(g(names.map((n) => t[n]))));
      dy.dispose();
    } catch (e) {
      if ((e as Error).message !== 'no gradient') error = (e as Error).message;
    }
    tf.dispose(Object.values(t));
    const floorBytes = (bench.bytes / bw) * 1e3;
    const floorFlops = (bench.flops / ((bench.peak ?? F32_PEAK) * 1e12)) * 1e3;
    const tr = torch[bench.name];
    rows.push({ name: bench.name, fwdMs: fwd, fwdBwdMs: both, floorBytesMs: floorBytes, floorFlopsMs: floorFlops, torch: tr, error });
    table.push(`| ${bench.name} | ${fmt(fwd)} | ${fmt(both)} | ${fmt(Math.max(floorBytes, floorFlops))} (${fmt(floorBytes)}, ${fmt(floorFlops)}) | ${fmt(tr?.fwd_ms)} | ${fmt(tr?.fwdbwd_ms)} |${error ? ` ERROR ${error}` : ''}`);
    console.log(table[table.length - 1]);
  }
  console.log(`\ncopy bandwidth ${(bw / 1e9).toFixed(0)} GB/s; f32 peak ${F32_PEAK} TFLOP/s\n${table.join('\n')}`);
  writeFileSync(join(outDir, 'ops-bench.json'), JSON.stringify({ date: new Date().toISOString(), device: info.info, bandwidthGBs: bw / 1e9, f32PeakTflops: F32_PEAK, rows, torch }, null, 1));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);

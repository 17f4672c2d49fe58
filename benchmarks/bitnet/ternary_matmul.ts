// Benchmark of @falcon/bitnet's ternaryMatmul (int8 activations × 2-bit packed ternary weight, read
// in place) against a dense f32 matmul of the same shape, for a 4096×4096 weight at batch 1 and 16,
// on cpu and (when an adapter is found) webgpu. Reports the weight bytes each moves, the achieved
// bandwidth, and the floor: weight bytes / this machine's measured memory bandwidth.
//   npx tsx benchmarks/bitnet/ternary_matmul.ts [--backends cpu,webgpu] [--iters 3]
// (webgpu in Node needs a Vulkan driver: tools/with-webgpu-env.sh npx tsx benchmarks/bitnet/ternary_matmul.ts)
import { packedWeightTensor, packTernary, PackedBitLinear, ternaryMatmul } from '@falcon/bitnet';
import { availableBackends, initBackend, Rng, tf } from '@falcon/tensor';
import type { BackendName, Tensor } from '@falcon/tensor';
import os from 'node:os';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const K = 4096;
const N = 4096;
const BATCHES = [1, 16];
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const ITERS = Number(arg('iters', '3'));

/** Host memory bandwidth, GB/s: a single-threaded sequential read of a 256 MiB array (every cache line) and a copy (TypedArray.set, read + write). */
function memoryBandwidth(): { readGBs: number; copyGBs: number } {
  const n = 32 * 2 ** 20; // 32 Mi f64 = 256 MiB
  const a = new Float64Array(n).fill(1);
  const b = new Float64Array(n);
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < n; i += 8) {
      // 4 of the 8 f64 of each 64-byte line: every line is fetched from memory, with half the adds
      s0 += a[i];
      s1 += a[i + 2];
      s2 += a[i + 4];
      s3 += a[i + 6];
    }
    best = Math.min(best, performance.now() - t0);
    sink += s0 + s1 + s2 + s3;
  }
  let bestCopy = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    b.set(a);
    bestCopy = Math.min(bestCopy, performance.now() - t0);
  }
  if (sink === 0 || b[7] !== 1) throw new Error('bandwidth probe optimised away');
  return { readGBs: (8 * n) / best / 1e6, copyGBs: (2 * 8 * n) / bestCopy / 1e6 };
}

function randomTernary(n: number, seed: number): Int8Array {
  const rng = new Rng(seed);
  const v = new Int8Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.int(3) - 1;
  return v;
}

function randomInt8(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const v = new Int32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = rng.int(256) - 128;
  return tf.tensor(v, shape, 'int32');
}

async function main(): Promise<void> {
  const bw = memoryBandwidth();
  console.log(`host memory bandwidth: read ${bw.readGBs.toFixed(1)} GB/s, copy ${bw.copyGBs.toFixed(1)} GB/s (read+write)`);
  const status = await availableBackends();
  const wanted = arg('backends', status.filter((s) => s.available && s.name !== 'cuda').map((s) => s.name).join(',')).split(',') as BackendName[];
  const ternary = randomTernary(N * K, 1);
  const bytes = packTernary(ternary, N, K);
  const denseHost = Float32Array.from(ternary, (v) => v * 0.02);
  const rows: Row[] = [];
  const adapters: Record<string, unknown> = {};
  const runs: Record<string, number> = {};
  for (const backend of wanted) {
    const info = await initBackend(backend);
    if (backend !== 'cpu') adapters[backend] = info.info?.adapter ?? info.info;
    // a software adapter (SwiftShader) takes seconds per call: one timed run after the warm-up
    const iters = info.info?.fallback === true ? 1 : ITERS;
    runs[backend] = iters;
    const packed = packedWeightTensor(bytes);
    const wT = tf.tensor2d(denseHost, [N, K]); // [out, in], used as x @ Wᵀ
    const w = tf.transpose(wT); // [in, out], x @ W: tfjs's faster orientation
    const layer = new PackedBitLinear({ inFeatures: K, outFeatures: N, packed: bytes, weightScale: 50 });
    for (const m of BATCHES) {
      const xq = randomInt8([m, K], 2 + m);
      const xf = tf.randomNormal([m, K], 0, 1, 'float32', 3);
      const sync = async (t: Tensor) => {
        await t.data();
        t.dispose();
      };
      const it = { warmup: 1, iters };
      const tern = await time(() => sync(ternaryMatmul(xq, packed, N)), it);
      // both dense orientations on the cpu (tfjs's speed differs); on a GPU one, [in, out]
      const dense = await time(() => sync(tf.matMul(xf, w)), it);
      const denseT = backend === 'cpu' ? await time(() => sync(tf.matMul(xf, wT, false, true)), it) : undefined;
      const fwd = await time(() => sync(layer.forward(xf)), it);
      const denseBest = Math.min(dense.medianMs, denseT?.medianMs ?? Infinity);
      const wBytesT = bytes.length;
      const wBytesD = 4 * N * K;
      const gbs = (b: number, ms: number) => +(b / ms / 1e6).toPrecision(3);
      const p3 = (v: number) => +v.toPrecision(3);
      const floorMs = (b: number) => b / (bw.readGBs * 1e6);
      const common = { backend, batch: m };
      rows.push({
        ...common,
        kernel: 'ternaryMatmul (2-bit)',
        ms: p3(tern.medianMs),
        weightMiB: +(wBytesT / 2 ** 20).toFixed(2),
        GBs: gbs(wBytesT, tern.medianMs),
        floorMs: p3(floorMs(wBytesT)),
        ofFloor: p3(floorMs(wBytesT) / tern.medianMs),
        speedupVsDense: p3(denseBest / tern.medianMs),
      });
      rows.push({
        ...common,
        kernel: 'PackedBitLinear.forward (quantise x + ternaryMatmul + scales)',
        ms: p3(fwd.medianMs),
        weightMiB: +(wBytesT / 2 ** 20).toFixed(2),
        GBs: gbs(wBytesT, fwd.medianMs),
        floorMs: p3(floorMs(wBytesT)),
        ofFloor: p3(floorMs(wBytesT) / fwd.medianMs),
        speedupVsDense: p3(denseBest / fwd.medianMs),
      });
      const denseRows: [string, { medianMs: number }][] = [['dense f32 tf.matMul(x, W) [in,out]', dense]];
      if (denseT) denseRows.push(['dense f32 tf.matMul(x, Wᵀ) [out,in]', denseT]);
      for (const [name, r] of denseRows) {
        rows.push({
          ...common,
          kernel: name,
          ms: p3(r.medianMs),
          weightMiB: +(wBytesD / 2 ** 20).toFixed(2),
          GBs: gbs(wBytesD, r.medianMs),
          floorMs: p3(floorMs(wBytesD)),
          ofFloor: p3(floorMs(wBytesD) / r.medianMs),
          speedupVsDense: p3(denseBest / r.medianMs),
        });
      }
      console.log(rows.slice(denseT ? -4 : -3).map((r) => `${r.backend} M=${r.batch} ${r.kernel}: ${r.ms} ms`).join('\n'));
      tf.dispose([xq, xf]);
    }
    layer.dispose();
    tf.dispose([packed, wT, w]);
  }
  writeResults('bitnet-ternary-matmul', 'ternaryMatmul vs dense f32 matmul, 4096×4096 weight', rows, {
    shape: `x [batch, ${K}] × W [${N}, ${K}]`,
    hostMemoryBandwidthGBs: { read: +bw.readGBs.toFixed(2), copy: +bw.copyGBs.toFixed(2) },
    floor:
      'weight bytes / single-threaded host read bandwidth (the weight is read once per call; activations and outputs are < 0.3 MiB); ' +
      'for webgpu on SwiftShader the "GPU" is this CPU, on a real GPU divide by its own bandwidth instead',
    ofFloor: 'floorMs / ms: the fraction of the memory-bandwidth floor achieved',
    timing: `median of the timed runs after 1 warm-up, including reading the result back; timed runs per backend: ${JSON.stringify(runs)}`,
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    ...(Object.keys(adapters).length ? { adapters } : {}),
  });
  process.exit(0); // Dawn keeps the process alive while navigator.gpu is referenced
}

void main();

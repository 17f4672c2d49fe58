// Benchmark: ssdChunkScan forward and backward (tf.grads of a weighted sum over every input) on the
// cpu backend at batch 1, seqlen 1024 and 4096, nheads 8, headdim 64, dstate 64, ngroups 1, with
// chunkSize 256 (Falcon-H1's mamba_chunk_size) and 64, against the sequential reference
// (ssdChunkScanReference: tfjs ops, differentiated by tfjs autodiff; at seqlen 1024) in the same
// run; then, when a WebGPU adapter is available (run under tools/with-webgpu-env.sh), the WGSL
// kernels on it (rows labelled with the adapter; on a software adapter such as SwiftShader they are
// CPU numbers, so they are kept few: seqlen 1024 forward and backward, seqlen 4096 forward, chunk 64).
//
// Floors, stated per shape: FLOPs of the sequential recurrence (5 per (position, head, headdim,
// dstate) element forward: decay, input, output; 14 backward: recomputed state 3, adjoint 3, dC 2,
// dB 2, dx 2, dA 2) over this machine's measured scalar rate (the 2×2 register-blocked float64
// product in L1 that the kernels' matrix products use, the fastest loop V8 runs here), and the
// bytes the op must read and write over the measured memory bandwidth (summing a 256 MiB
// Float32Array); floor = the larger. "fraction" = floor time / measured time. The chunked form
// executes about the recurrence's FLOPs at chunk 64 and ~1.7× at chunk 256 (its diagonal blocks
// cost ~chunkSize·headdim per position and head); "kernel GFLOP/s" counts the executed FLOPs.
//
// The machine is shared (other jobs run beside this one), so rates, floors and fractions are
// computed from the CPU time of this process (one thread), and wall times are reported beside it.
// Run from the repo root: bash tools/with-webgpu-env.sh npx tsx benchmarks/mamba2/ssd_chunk_scan.ts
// (about 4 minutes on 2 cores; plain `npx tsx benchmarks/mamba2/ssd_chunk_scan.ts` runs the cpu rows only)
import { loadavg } from 'node:os';
import { availableBackends, initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { ssdChunkScan, ssdChunkScanReference } from '@falcon/mamba2';
import type { SsdChunkScanOptions } from '@falcon/mamba2';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const [b, h, p, n, g] = [1, 8, 64, 64, 1];
const SEQLENS = [1024, 4096];
const CHUNKS = [256, 64];

/** Process CPU time of fn in ms (user + system), and fn's result. */
function cpuTime<T>(fn: () => T): { ms: number; result: T } {
  const c0 = process.cpuUsage();
  const result = fn();
  const c = process.cpuUsage(c0);
  return { ms: (c.user + c.system) / 1000, result };
}

/**
 * 2×2 register-blocked product of two pairs of rows (four multiply-adds per four loads: the inner
 * loop of the kernels' gemmNT), `reps` times over rows of `len` in L1; locals only.
 */
function blockedReps(a: Float64Array, c: Float64Array, len: number, reps: number): number {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < len; k++) {
      const x0 = a[k];
      const x1 = a[len + k];
      const y0 = c[k];
      const y1 = c[len + k];
      s00 += x0 * y0;
      s01 += x0 * y1;
      s10 += x1 * y0;
      s11 += x1 * y1;
    }
  }
  return s00 + s01 + s10 + s11;
}

/** Sum of a Float32Array, four accumulators. */
function sumAll(v: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < v.length; i += 4) {
    s0 += v[i];
    s1 += v[i + 1];
    s2 += v[i + 2];
    s3 += v[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

/** Peak scalar rate: the 2×2-blocked product over rows of 512 float64 (L1), GFLOP/s of CPU time. */
function measurePeak(): number {
  const a = new Float64Array(1024).map((_, i) => Math.sin(i));
  const c = new Float64Array(1024).map((_, i) => Math.cos(i));
  let best = 0;
  for (let rep = 0; rep < 7; rep++) {
    const { ms, result } = cpuTime(() => blockedReps(a, c, 512, 20000));
    if (result === 42) console.log('');
    best = Math.max(best, (8 * 512 * 20000) / ms / 1e6);
  }
  return best;
}

/** Memory bandwidth: summing a 256 MiB Float32Array, GB/s of CPU time. */
function measureBandwidth(): number {
  const v = new Float32Array(64 * 2 ** 20).fill(1);
  let best = 0;
  for (let rep = 0; rep < 5; rep++) {
    const { ms, result } = cpuTime(() => sumAll(v));
    if (result === 42) console.log('');
    best = Math.max(best, v.byteLength / ms / 1e6);
  }
  return best;
}

/** Executed FLOPs of the chunked forward (diagonal block, C·Bᵀ shared by the group, off-diagonal, state). */
function chunkedFlops(l: number, Q: number, backward: boolean): number {
  let f = 0;
  for (let c0 = 0; c0 < l; c0 += Q) {
    const q = Math.min(Q, l - c0);
    const tri = (q * (q + 1)) / 2;
    const perHead = 2 * (tri * p + 2 * q * p * n); // M·X, C·Sᵀ, state
    const perGroup = 2 * tri * n; // C·Bᵀ
    // backward: recompute (as forward, plus the pass-1 state), then Mᵀ·dY, dY·Xᵀ, (w·dY)ᵀ·C, dY·S,
    // G·B, X·G and, per group, dCB·B, dCBᵀ·C
    f += backward ? perGroup * 3 + h * (perHead + 2 * q * p * n + 2 * (2 * tri * p + 4 * q * p * n)) : perGroup + h * perHead;
  }
  return b * f;
}

function inputs(l: number): { x: Tensor; dt: Tensor; A: Tensor; B: Tensor; C: Tensor; opts: SsdChunkScanOptions } {
  return {
    x: randomTensor([b, l, h, p], 1),
    dt: randomTensor([b, l, h], 2),
    A: tf.neg(randomTensor([h], 3, { distribution: 'uniform', min: 0.3, max: 2 })),
    B: randomTensor([b, l, g, n], 4),
    C: randomTensor([b, l, g, n], 5),
    opts: { D: randomTensor([h], 6), dtBias: randomTensor([h], 7, { distribution: 'uniform' }), dtSoftplus: true },
  };
}

async function timed(fn: () => void, iters: number, warmups = 1): Promise<{ medianMs: number; minMs: number; cpuMs: number }> {
  for (let i = 0; i < warmups; i++) fn(); // warm-up (JIT)
  const c0 = process.cpuUsage();
  const r = await time(fn, { warmup: 0, iters });
  const cu = process.cpuUsage(c0);
  return { medianMs: r.medianMs, minMs: r.minMs, cpuMs: (cu.user + cu.system) / 1000 / iters };
}

await initBackend('cpu');
const loadBefore = loadavg()[0];
const peak = measurePeak();
const bw = measureBandwidth();
console.log(`peak ${peak.toFixed(2)} GFLOP/s, bandwidth ${bw.toFixed(2)} GB/s`);
const rows: Row[] = [];

for (const l of SEQLENS) {
  const inp = inputs(l);
  const { x, dt, A, B, C, opts } = inp;
  const wY = randomTensor([b, l, h, p], 8);
  const elems = b * l * h * p * n;
  const fwdFlops = 5 * elems;
  const bwdFlops = 14 * elems;
  const fwdBytes = 4 * (2 * b * l * h * p + b * l * h + 2 * b * l * g * n + b * h * p * n);
  const bwdBytes = 4 * (4 * b * l * h * p + 2 * b * l * h + 4 * b * l * g * n);
  const floorFwd = Math.max(fwdFlops / peak / 1e6, fwdBytes / bw / 1e6);
  const floorBoth = Math.max((fwdFlops + bwdFlops) / peak / 1e6, (fwdBytes + bwdBytes) / bw / 1e6);
  const row = (impl: string, chunk: number | null, pass: string, r: { medianMs: number; minMs: number; cpuMs: number }, floorMs: number, executed: number | null) =>
    rows.push({
      seqlen: l,
      impl,
      chunk: chunk ?? '-',
      pass,
      'median ms': +r.medianMs.toFixed(1),
      'min ms': +r.minMs.toFixed(1),
      'cpu ms': +r.cpuMs.toFixed(1),
      'floor ms': +floorMs.toFixed(1),
      fraction: +(floorMs / r.cpuMs).toFixed(3),
      'kernel GFLOP/s': executed === null ? '-' : +(executed / r.cpuMs / 1e6).toFixed(2),
    });
  const loss = (fn: typeof ssdChunkScan, o: SsdChunkScanOptions) => (xx: Tensor, dd: Tensor, aa: Tensor, bb: Tensor, cc: Tensor) =>
    tf.sum(tf.mul(fn(xx, dd, aa, bb, cc, o).y, wY)) as tf.Scalar;

  for (const chunkSize of CHUNKS) {
    const o = { ...opts, chunkSize };
    const fwd = await timed(() => tf.tidy(() => void ssdChunkScan(x, dt, A, B, C, o).y.dataSync()), 3, 3);
    row('chunked kernel', chunkSize, 'forward', fwd, floorFwd, chunkedFlops(l, chunkSize, false));
    const g = tf.grads(loss(ssdChunkScan, o));
    const both = await timed(() => tf.tidy(() => void g([x, dt, A, B, C]).forEach((t) => t.dataSync())), 2, 2);
    row('chunked kernel', chunkSize, 'forward + backward', both, floorBoth, chunkedFlops(l, chunkSize, false) + chunkedFlops(l, chunkSize, true));
    console.log(rows.slice(-2));
  }
  if (l <= 1024) {
    const rf = await timed(() => tf.tidy(() => void ssdChunkScanReference(x, dt, A, B, C, opts).y.dataSync()), 1, 0);
    row('sequential reference', null, 'forward', rf, floorFwd, null);
    const g = tf.grads(loss(ssdChunkScanReference, opts));
    const rb = await timed(() => tf.tidy(() => void g([x, dt, A, B, C]).forEach((t) => t.dataSync())), 1, 0);
    row('sequential reference', null, 'forward + backward', rb, floorBoth, null);
    console.log(rows.slice(-2));
  }
  tf.dispose([x, dt, A, B, C, wY, opts.D!, opts.dtBias!]);
}

// WebGPU rows: on the adapter this machine offers, if any.
let adapter = 'none';
const wg = (await availableBackends()).find((s) => s.name === 'webgpu');
if (wg?.available) {
  const status = await initBackend('webgpu');
  const software = !!status.info?.fallback;
  adapter = `${String(status.info?.adapter)}${software ? ' (software: CPU numbers, not GPU numbers)' : ''}`;
  const asyncTimed = async (fn: () => Promise<void>, iters: number) => {
    await fn();
    const c0 = process.cpuUsage();
    const r = await time(fn, { warmup: 0, iters });
    const cu = process.cpuUsage(c0);
    return { medianMs: r.medianMs, minMs: r.minMs, cpuMs: (cu.user + cu.system) / 1000 / iters };
  };
  for (const [l, withBackward] of [[1024, true], [4096, false]] as const) {
    const { x, dt, A, B, C, opts } = inputs(l);
    const wY = randomTensor([b, l, h, p], 8);
    const o = { ...opts, chunkSize: 64 };
    const push = (pass: string, r: { medianMs: number; minMs: number; cpuMs: number }) =>
      rows.push({ seqlen: l, impl: `webgpu kernel (${software ? 'software adapter' : 'GPU'})`, chunk: 64, pass, 'median ms': +r.medianMs.toFixed(1), 'min ms': +r.minMs.toFixed(1), 'cpu ms': +r.cpuMs.toFixed(1), 'floor ms': '-', fraction: '-', 'kernel GFLOP/s': +(chunkedFlops(l, 64, false) / r.minMs / 1e6).toFixed(2) });
    push('forward', await asyncTimed(async () => {
      const y = ssdChunkScan(x, dt, A, B, C, o).y;
      await y.data();
      y.dispose();
    }, 1));
    if (withBackward) {
      const g = tf.grads((xx: Tensor, dd: Tensor, aa: Tensor, bb: Tensor, cc: Tensor) => tf.sum(tf.mul(ssdChunkScan(xx, dd, aa, bb, cc, o).y, wY)) as tf.Scalar);
      push('forward + backward', await asyncTimed(async () => {
        const gs = g([x, dt, A, B, C]);
        await Promise.all(gs.map((t) => t.data()));
        tf.dispose(gs);
      }, 1));
    }
    console.log(rows.slice(-2));
    tf.dispose([x, dt, A, B, C, wY, opts.D!, opts.dtBias!]);
  }
}

writeResults('mamba2-ssd-chunk-scan', 'ssdChunkScan (batch 1, nheads 8, headdim 64, dstate 64, ngroups 1): cpu kernels, the sequential reference, webgpu kernels', rows, {
  backend: 'cpu (tfjs-backend-cpu + @falcon/mamba2 host kernels), one thread',
  webgpu: adapter === 'none' ? 'not measured: no WebGPU adapter (run under tools/with-webgpu-env.sh)' : `adapter ${adapter}; webgpu kernel GFLOP/s counts the chunked-form FLOPs over wall time`,
  peakGflops: +peak.toFixed(2),
  bandwidthGBs: +bw.toFixed(2),
  floor: 'max(minimum FLOPs / peak, bytes / bandwidth); minimum FLOPs = 5 (forward) and 14 (backward) per batch·seqlen·nheads·headdim·dstate element; fraction = floor / CPU time; kernel GFLOP/s = FLOPs the chunked form executes / CPU time',
  loadAverage: { before: +loadBefore.toFixed(2), after: +loadavg()[0].toFixed(2) },
  note: 'the sequential reference runs at seqlen 1024 only (linear in seqlen: ~4× at 4096, i.e. ~70 s forward and ~3.5 min with its backward here, which would take the run past 5 minutes)',
});
process.exit(0); // Dawn keeps the process alive while navigator.gpu is referenced

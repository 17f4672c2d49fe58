// flashAttention (tiled CPU kernels) against the naive reference (softmax(q·kᵀ·scale + mask)·v in
// tfjs ops, materialising the [seqlen, seqlen] scores): forward and backward time, achieved FLOP
// rate against this machine's measured rate, and peak memory, at seqlen 512 / 2048 / 8192, head
// dim 64, GQA 4:1 (4 query heads, 1 KV head), batch 1, causal.
// Run from /work/main: npx tsx benchmarks/attention/flash_attention.ts [--quick]
import os from 'node:os';
import { flashAttention, flashAttentionBackwardOp } from '@falcon/attention';
import { initBackend, tf } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { flashAttentionReference, lastWorkspaceBytes, tileProductNT } from '@falcon/attention/internal';
import type { Row } from '../lib/report.js';
import { writeResults } from '../lib/report.js';

const quick = process.argv.includes('--quick');
const [B, H, HKV, D] = [1, 4, 1, 64];
const seqlens = quick ? [512] : [512, 2048, 8192];
const NAIVE_MAX = 2048; // the naive reference at 8192 needs ~1 GiB per score tensor and tens of minutes here

/** Median wall and CPU (user + system) milliseconds of `iters` runs after `warmup` runs. */
function measure(fn: () => void, warmup: number, iters: number): { wallMs: number; cpuMs: number } {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wallMs: med(wall), cpuMs: med(cpu) };
}

/** Peak bytes of tfjs tensors alive while `fn` runs, above what was alive before. */
async function peakTensorBytes(fn: () => void): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    fn();
  });
  return Math.max(0, info.peakBytes - before);
}

/** This machine's single-thread rate: the kernels' blocked 64×64×64 tile product on L1-resident tiles, and tfjs-cpu's matMul. */
function machineRates(): { tileGflops: number; tfjsMatmulGflops: number } {
  const a = new Float32Array(64 * 64).map(() => Math.random());
  const b = new Float32Array(64 * 64).map(() => Math.random());
  const c = new Float64Array(64 * 64);
  const reps = 400;
  const tile = measure(() => {
    for (let r = 0; r < reps; r++) tileProductNT(a, 0, 64, b, 0, 64, c, 0, 64, 64, 64, 64);
  }, 2, 5);
  const x = randomTensor([512, 512], 1);
  const mm = measure(() => tf.tidy(() => tf.matMul(x, x).dataSync()), 1, 3);
  x.dispose();
  return { tileGflops: (2 * 64 ** 3 * reps) / tile.cpuMs / 1e6, tfjsMatmulGflops: (2 * 512 ** 3) / mm.cpuMs / 1e6 };
}

await initBackend('cpu');
const rates = machineRates();
console.log(`machine: blocked tile product ${rates.tileGflops.toFixed(2)} GFLOP/s, tfjs matMul ${rates.tfjsMatmulGflops.toFixed(2)} GFLOP/s (single thread, CPU time)`);

const rows: Row[] = [];
for (const L of seqlens) {
  const q = randomTensor([B, L, H, D], 1);
  const k = randomTensor([B, L, HKV, D], 2);
  const v = randomTensor([B, L, HKV, D], 3);
  const dout = randomTensor([B, L, H, D], 4);
  // useful FLOPs of causal attention: QKᵀ and PV, 2·L²·D each per head, halved by the causal mask;
  // the backward does 5 such products (S, dP, dV, dK, dQ) where the forward does 2: 2.5×
  const fwdFlops = (4 * B * H * L * L * D) / 2;
  const bwdFlops = 2.5 * fwdFlops;
  const iters = L <= 512 ? 5 : L <= 2048 ? 3 : 1;
  const warm = L <= 2048 ? 1 : 0;
  const attrs = { scale: D ** -0.5, causal: true, windowLeft: -1, windowRight: -1 };

  const fwd = flashAttention(q, k, v);
  const flashFwd = measure(() => tf.tidy(() => flashAttention(q, k, v).out.dataSync()), warm, iters);
  const flashFwdWorkspace = lastWorkspaceBytes();
  const runBwd = () =>
    tf.tidy(() => flashAttentionBackwardOp({ q, k, v, out: fwd.out, lse: fwd.lse, dout, dlse: tf.zerosLike(fwd.lse) }, { ...attrs, kvLength: -1 }).dq.dataSync());
  const flashBwd = measure(runBwd, warm, iters);
  const flashBwdWorkspace = lastWorkspaceBytes();
  const flashFwdPeak = (await peakTensorBytes(() => tf.tidy(() => flashAttention(q, k, v).out.dataSync()))) + flashFwdWorkspace;
  const flashBwdPeak = (await peakTensorBytes(runBwd)) + flashBwdWorkspace;
  const floorMs = (f: number) => f / (rates.tileGflops * 1e6);
  const row = (impl: string, pass: string, t: { wallMs: number; cpuMs: number } | undefined, flops: number, peak: number | null, note = ''): Row => ({
    impl,
    pass,
    seqlen: L,
    cpuMs: t ? +t.cpuMs.toFixed(1) : null,
    wallMs: t ? +t.wallMs.toFixed(1) : null,
    GFLOPs: +(flops / 1e9).toFixed(3),
    'GFLOP/s': t ? +(flops / t.cpuMs / 1e6).toFixed(3) : null,
    floorMs: +floorMs(flops).toFixed(1),
    'of floor': t ? +(floorMs(flops) / t.cpuMs).toFixed(3) : null,
    peakMiB: peak === null ? null : +(peak / 2 ** 20).toFixed(1),
    note,
  });
  rows.push(row('flash', 'forward', flashFwd, fwdFlops, flashFwdPeak));
  rows.push(row('flash', 'backward', flashBwd, bwdFlops, flashBwdPeak));
  console.log(rows.slice(-2));

  if (L <= NAIVE_MAX) {
    const naiveFwdFn = () => tf.tidy(() => flashAttentionReference({ q, k, v }, attrs).out.dataSync());
    const naiveFwd = measure(naiveFwdFn, L <= 512 ? 1 : 0, L <= 512 ? 3 : 1);
    const grads = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => tf.sum(tf.mul(flashAttentionReference({ q: qq, k: kk, v: vv }, attrs).out, dout)) as tf.Scalar);
    const naiveBothFn = () => tf.tidy(() => grads([q, k, v])[0].dataSync());
    const naiveBoth = measure(naiveBothFn, L <= 512 ? 1 : 0, L <= 512 ? 3 : 1);
    const naiveBwd = { wallMs: naiveBoth.wallMs - naiveFwd.wallMs, cpuMs: naiveBoth.cpuMs - naiveFwd.cpuMs };
    const naiveFwdPeak = await peakTensorBytes(naiveFwdFn);
    const naiveBothPeak = await peakTensorBytes(naiveBothFn);
    rows.push(row('naive', 'forward', naiveFwd, fwdFlops, naiveFwdPeak));
    rows.push(row('naive', 'backward', naiveBwd, bwdFlops, naiveBothPeak, 'fwd+bwd time minus fwd; peak of fwd+bwd'));
  } else {
    // not run: one [b, H, L, L] float32 score tensor alone is this big, and the tape keeps several
    const scoreMiB = (4 * B * H * L * L) / 2 ** 20;
    rows.push(row('naive', 'forward', undefined, fwdFlops, null, `not run (one score tensor = ${scoreMiB} MiB; est. ≥ 16× the 2048 time)`));
    rows.push(row('naive', 'backward', undefined, bwdFlops, null, 'not run'));
  }
  console.log(rows.slice(-2));
  tf.dispose([q, k, v, dout, fwd.out, fwd.lse]);
}

writeResults(quick ? 'attention-flash-quick' : 'attention-flash', 'flashAttention vs naive reference, CPU (tfjs-backend-cpu + @falcon/attention kernels)', rows, {
  shapes: `batch ${B}, ${H} query heads, ${HKV} KV head (GQA 4:1), head dim ${D}, causal, float32`,
  floor: `useful FLOPs / ${rates.tileGflops.toFixed(2)} GFLOP/s, the single-thread rate of the kernels' own blocked 64×64×64 tile product on L1-resident tiles measured on this machine (tfjs-cpu matMul reaches ${rates.tfjsMatmulGflops.toFixed(2)} GFLOP/s). The kernels are single-threaded; the machine has ${os.cpus().length} cores.`,
  timing: 'cpuMs = median CPU time (user + system) of the process, robust to other load on this shared machine; wallMs = median wall time',
  peak: 'peakMiB = peak bytes of live tfjs tensors during the call (tf.profile) above those alive before, plus, for flash, the kernel scratch buffers (typed arrays outside tfjs)',
  loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  webgpu: 'the WGSL kernels are measured by flash_attention_webgpu.ts (results attention-flash-webgpu*.md); this machine has only SwiftShader, a software adapter',
});

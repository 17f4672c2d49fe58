// flashAttention's WGSL kernels on WebGPU against a naive tfjs implementation (scores
// materialised: softmax(q·kᵀ·scale + causal mask)·v, backward by tfjs autodiff): forward and
// backward time, achieved FLOP rate, peak tensor memory and the largest difference between the
// two, at seqlen 512 / 2048 / 8192, head dim 64, GQA 4:1 (4 query heads, 1 KV head), batch 1.
// Needs a WebGPU adapter: on the GPU machine run benchmarks/attention/device-webgpu.sh (see there);
// here `bash tools/with-webgpu-env.sh npx tsx benchmarks/attention/flash_attention_webgpu.ts`
// runs it on SwiftShader (a CPU rasteriser: results are labelled as software numbers; there use
// --seqlens=512, larger sizes take hours).
import os from 'node:os';
import '@tensorflow/tfjs-backend-webgpu'; // bundled with the same tfjs-core when built for the device
import { flashAttention, flashAttentionBackwardOp } from '@falcon/attention';
import { initBackend, tf } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import type { Row } from '../lib/report.js';
import { writeResults } from '../lib/report.js';

const quick = process.argv.includes('--quick');
const [B, H, HKV, D] = [1, 4, 1, 64];
const seqArg = process.argv.find((a) => a.startsWith('--seqlens='));
const seqlens = seqArg ? seqArg.slice(10).split(',').map(Number) : quick ? [256] : [512, 2048, 8192];
const status = await initBackend('webgpu');
const info = status.info ?? {};
const adapter = String(info.adapter ?? info.description ?? 'unknown');
const software = !!info.fallback;
console.log(`webgpu adapter: ${adapter}${software ? ' (software)' : ''}`);

/** Median ms per call: each run queues `reps` calls and waits for the last one with a one-element read. */
async function gpuMs(op: () => tf.Tensor, reps: number, runs = 3): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    let last: tf.Tensor | undefined;
    for (let i = 0; i < reps; i++) {
      last?.dispose();
      last = op();
    }
    const probe = tf.slice(tf.reshape(last as tf.Tensor, [-1]), [0], [1]);
    await probe.data();
    tf.dispose([probe, last as tf.Tensor]);
    return (performance.now() - t0) / reps;
  };
  await once(); // compile pipelines, warm up
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) ms.push(await once());
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

/** Peak bytes of live tensors while `fn` runs (above those alive before). */
async function peakBytes(fn: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const before = tf.memory().numBytes;
  const p = await tf.profile(async () => {
    const r = fn();
    const list = Array.isArray(r) ? r : [r];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  });
  return Math.max(0, p.peakBytes - before);
}

/** Rate of a large tfjs-webgpu matMul on this adapter (what plain WebGPU reaches here). */
async function matmulTflops(): Promise<number> {
  const n = software ? 256 : 4096;
  const a = randomTensor([n, n], 1);
  const ms = await gpuMs(() => tf.matMul(a, a), software ? 1 : 10);
  a.dispose();
  return (2 * n ** 3) / ms / 1e9;
}

const tflopsMatmul = await matmulTflops();
const rows: Row[] = [];
for (const L of seqlens) {
  const q = randomTensor([B, L, H, D], 1);
  const k = randomTensor([B, L, HKV, D], 2);
  const v = randomTensor([B, L, HKV, D], 3);
  const dout = randomTensor([B, L, H, D], 4);
  const scale = D ** -0.5;
  const fwdFlops = (4 * B * H * L * L * D) / 2; // QKᵀ and PV, halved by the causal mask
  const bwdFlops = 2.5 * fwdFlops; // S, dP, dV, dK, dQ
  const reps = software ? 1 : L <= 2048 ? 10 : 3;

  // naive: expand KV heads, materialise [b, H, L, L] scores, causal mask built once
  const idx = tf.tensor1d([0, 0, 0, 0], 'int32');
  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([L, L]), -1, 0)), -1e30));
  const naive = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => {
    const qt = tf.transpose(qq, [0, 2, 1, 3]);
    const kt = tf.transpose(tf.gather(kk, idx, 2), [0, 2, 1, 3]);
    const vt = tf.transpose(tf.gather(vv, idx, 2), [0, 2, 1, 3]);
    const p = tf.softmax(tf.add(tf.mul(tf.matMul(qt, kt, false, true), scale), mask));
    return tf.transpose(tf.matMul(p, vt), [0, 2, 1, 3]);
  };
  const naiveGrads = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => tf.sum(tf.mul(naive(qq, kk, vv), dout)) as tf.Scalar);

  const fwd = flashAttention(q, k, v);
  const ref = tf.tidy(() => naive(q, k, v));
  const diff = await tf.tidy(() => tf.max(tf.abs(tf.sub(fwd.out, ref)))).data();
  ref.dispose();
  const dlse = tf.zerosLike(fwd.lse);
  const attrs = { scale, causal: true, windowLeft: -1, windowRight: -1, kvLength: -1 };
  const flashBwd = () => {
    const g = flashAttentionBackwardOp({ q, k, v, out: fwd.out, lse: fwd.lse, dout, dlse }, attrs);
    tf.dispose([g.dk, g.dv]);
    return g.dq;
  };
  const tFwd = await gpuMs(() => {
    const r = flashAttention(q, k, v);
    r.lse.dispose();
    return r.out;
  }, reps);
  const tBwd = await gpuMs(flashBwd, reps);
  const mFwd = await peakBytes(() => Object.values(flashAttention(q, k, v)));
  const mBwd = await peakBytes(() => Object.values(flashAttentionBackwardOp({ q, k, v, out: fwd.out, lse: fwd.lse, dout, dlse }, attrs)));
  const tNaiveFwd = await gpuMs(() => tf.tidy(() => naive(q, k, v)), reps);
  const tNaiveBoth = await gpuMs(() => tf.tidy(() => {
    const [dq, dk, dv] = naiveGrads([q, k, v]);
    tf.dispose([dk, dv]);
    return dq;
  }), reps);
  const mNaiveFwd = await peakBytes(() => tf.tidy(() => naive(q, k, v)));
  const mNaiveBoth = await peakBytes(() => tf.tidy(() => naiveGrads([q, k, v])));
  const row = (impl: string, pass: string, ms: number, flops: number, peak: number, note = ''): Row => ({
    impl,
    pass,
    seqlen: L,
    ms: +ms.toFixed(3),
    GFLOPs: +(flops / 1e9).toFixed(3),
    'GFLOP/s': +(flops / ms / 1e6).toPrecision(4),
    'of matMul rate': +(flops / ms / 1e9 / tflopsMatmul).toFixed(3),
    peakMiB: +(peak / 2 ** 20).toFixed(1),
    note,
  });
  rows.push(row('flash', 'forward', tFwd, fwdFlops, mFwd, `max |flash − naive| = ${diff[0].toExponential(2)}`));
  rows.push(row('flash', 'backward', tBwd, bwdFlops, mBwd));
  rows.push(row('naive', 'forward', tNaiveFwd, fwdFlops, mNaiveFwd));
  rows.push(row('naive', 'backward', tNaiveBoth - tNaiveFwd, bwdFlops, mNaiveBoth, 'fwd+bwd time minus fwd; peak of fwd+bwd'));
  console.log(rows.slice(-4));
  tf.dispose([q, k, v, dout, fwd.out, fwd.lse, dlse, idx, mask]);
}

writeResults(
  software ? 'attention-flash-webgpu-swiftshader' : 'attention-flash-webgpu',
  `flashAttention vs naive, WebGPU (${adapter})`,
  rows,
  {
    shapes: `batch ${B}, ${H} query heads, ${HKV} KV head (GQA 4:1), head dim ${D}, causal, float32`,
    adapter,
    software: software ? 'SOFTWARE adapter (runs on the CPU): not GPU numbers' : false,
    floor: `tfjs-webgpu matMul (${software ? 256 : 4096}² float32) reaches ${(tflopsMatmul * 1000).toPrecision(4)} GFLOP/s on this adapter; 'of matMul rate' = achieved / that. For the H200 the FP32 (non-tensor-core) peak is ~67 TFLOP/s; WebGPU exposes no tensor cores.`,
    timing: 'ms = median wall time per call with the GPU queue drained (calls queued back to back, one-element read at the end)',
    naive: 'scores [b, H, L, L] materialised, causal mask built once, softmax in tfjs ops; backward by tfjs autodiff',
    peak: 'peakMiB = peak bytes of live tfjs tensors during the call (tf.profile) above those alive before',
    loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  },
);
process.exit(0);

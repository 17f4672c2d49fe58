// The hybrid head router on cpu: for a Falcon-H1 layer with 8 attention and 24 Mamba-2 heads (the
// Falcon-H1-0.5B shapes of tools/device/model-cuda.ts: d 1024, head_dim 64, 2 KV heads, Mamba-2
// head dim 64, d_state 128, one group, chunk 128) on TP t = 3 and 5, time the forward + backward of
// every rank's shard (its attention heads, its Mamba-2 heads and its columns of the shared output
// projection — the work the head split moves; the evenly split MLP is left out) one rank after
// another in this process, for the naive split and the routed one, and report the slowest rank's
// time over the mean. First it measures the backend's throughputs (the router's calibration) at
// these shapes.
//   npx tsx benchmarks/router/run.ts [--seqlen 256] [--iters 3]     (writes results/router-cpu.{json,md})
import { execSync } from 'node:child_process';
import { flashAttention } from '@falcon/attention';
import { localShape } from '@falcon/parallel';
import { ssdChunkScan } from '@falcon/mamba2';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { attentionShard, headCosts, hybridConfig, imbalance, naiveSplit, ropeOf, routeHeads, tensorParallelLayout, mambaShard } from '@falcon/hybrid';
import type { BackendCalibration, HeadSplit, HybridConfig } from '@falcon/hybrid';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const L = Number(arg('seqlen', '256'));
const ITERS = Number(arg('iters', '3'));
await initBackend('cpu');

const config: HybridConfig = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 32784, hidden_size: 1024, intermediate_size: 2048, num_hidden_layers: 1,
  num_attention_heads: 8, num_key_value_heads: 2, head_dim: 64, mamba_d_ssm: 1536, mamba_n_heads: 24, mamba_d_head: 64,
  mamba_n_groups: 1, mamba_d_state: 128, mamba_d_conv: 4, mamba_chunk_size: 128, mamba_rms_norm: false,
  max_position_embeddings: 16384, rope_parameters: { rope_type: 'default', rope_theta: 1e11 }, tie_word_embeddings: false, initializer_range: 0.02,
});
const b = config.base;
const d = b.hidden_size;
const rnd = (shape: number[]) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 0.02);

/** ms of forward + backward of f over its inputs. */
async function fwdBwd(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): Promise<number> {
  const g = tf.grads((...a: Tensor[]) => tf.sum(f(...a)));
  const r = await time(() => tf.tidy(() => tf.dispose(g(xs))), { warmup: 1, iters: ITERS });
  return r.medianMs;
}

// (1) calibration: forward-equivalent throughput of each op class (model FLOPs / (fwd+bwd time / 3))
async function calibrate(): Promise<BackendCalibration> {
  const T = L;
  const x = rnd([T, d]);
  const w = rnd([512, d]);
  const mm = await fwdBwd((a, c) => tf.matMul(a, c, false, true), [x, w]);
  const q = rnd([1, L, 4, 64]);
  const kv = rnd([1, L, 1, 64]);
  const at = await fwdBwd((a, k, v) => flashAttention(a, k, v, { causal: true }).out, [q, kv, kv]);
  const h = 8;
  const X = rnd([1, L, h, 64]);
  const dt = rnd([1, L, h]);
  const A = tf.neg(tf.ones([h]));
  const B = rnd([1, L, 1, 128]);
  const ss = await fwdBwd((xx, t, bb, cc) => ssdChunkScan(xx, t, A, bb, cc, { chunkSize: 128, dtSoftplus: true }).y, [X, dt, B, B]);
  const e = rnd([T, 1024]);
  const el = await fwdBwd((a) => tf.mul(a, tf.sigmoid(a)), [e]);
  const Q = Math.min(128, L);
  const bytes = await fwdBwd((a) => tf.add(a, 1), [rnd([T, 4096])]);
  return {
    matmul: (2 * T * d * 512) / (mm / 3 / 1000),
    attention: (2 * T * L * 64 * 4) / (at / 3 / 1000),
    ssd: (h * (2 * T * Q * (64 + 128 / h) + 4 * T * 128 * 64)) / (ss / 3 / 1000),
    elementwise: (10 * T * 1024) / (el / 3 / 1000),
    bytes: (8 * T * 4096) / (bytes / 3 / 1000),
  };
}

/** ms of rank r's shard (attention heads, Mamba-2 heads, output-projection columns), forward + backward. */
async function rankTime(split: HeadSplit, t: number, r: number): Promise<number> {
  const layout = tensorParallelLayout(config, { size: t, rank: r, splits: [split] });
  const shape = (n: string) => localShape(layout.plan[`model.layers.0.${n}`]);
  const names = ['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight', 'self_attn.o_proj.weight', 'mamba.in_proj.weight', 'mamba.conv1d.weight', 'mamba.conv1d.bias', 'mamba.dt_bias', 'mamba.A_log', 'mamba.D', 'mamba.out_proj.weight'];
  const params = names.map((n) => rnd(shape(n)));
  const u = rnd([1, L, d]);
  const positions = tf.reshape(tf.range(0, L, 1, 'int32'), [1, L]);
  const attn = { headDim: 64, keyMultiplier: 1, rope: ropeOf(b.rope_parameters as never, 64, b.max_position_embeddings) };
  const mcfg = { headDim: 64, dState: 128, dConv: 4, chunkSize: 128, inMultiplier: 1, multipliers: [1, 1, 1, 1, 1] as const, dtLimit: [0, Infinity] as const, rmsNorm: false, normBeforeGate: false, eps: 1e-5 };
  const L0 = layout.layers[0];
  const f = (uu: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, inp: Tensor, cw: Tensor, cb: Tensor, dtb: Tensor, al: Tensor, D: Tensor, out: Tensor) => {
    const w: Record<string, Tensor> = { q_proj: q, k_proj: k, v_proj: v };
    const a = attentionShard(uu, (x, n) => tf.matMul(x, w[n], false, true), L0.attention!, attn, positions);
    const m = mambaShard(uu, (x) => tf.matMul(x, inp, false, true), { 'conv1d.weight': cw, 'conv1d.bias': cb, dt_bias: dtb, A_log: al, D }, L0.mamba!, mcfg, undefined);
    return tf.matMul(tf.reshape(tf.concat([a, m], -1), [L, -1]), tf.concat([o, out], 1), false, true);
  };
  const ms = await fwdBwd(f as (...xs: Tensor[]) => Tensor, [u, ...params]);
  tf.dispose([u, positions, ...params]);
  return ms;
}

const cal = await calibrate();
console.log('calibration (forward FLOP/s, bytes/s):', cal);
const costs = headCosts(config, 0, { seqlen: L, batch: 1, calibration: cal });
const rows: Row[] = [];
for (const t of [3, 5]) {
  const heads = config.layers[0];
  for (const [name, split] of [['naive', naiveSplit(heads, t)], ['router', routeHeads(heads, t, costs)]] as const) {
    const ms: number[] = [];
    for (let r = 0; r < t; r++) ms.push(await rankTime(split, t, r));
    const mean = ms.reduce((a, x) => a + x, 0) / t;
    rows.push({
      t,
      split: name,
      'attention heads': split.attention.join(' '),
      'mamba heads': split.mamba.join(' '),
      'rank ms (fwd+bwd)': ms.map((x) => x.toFixed(0)).join(' '),
      'slowest / mean (measured)': +(Math.max(...ms) / mean).toFixed(3),
      'slowest / mean (model)': +imbalance(split, costs).toFixed(3),
      'slowest ms': +Math.max(...ms).toFixed(1),
    });
    console.log(rows[rows.length - 1]);
  }
}
const commit = execSync('git rev-parse --short HEAD').toString().trim();
writeResults('router-cpu', 'Hybrid head router vs naive head split (cpu, per-rank shard timing)', rows, {
  commit,
  shapes: 'Falcon-H1-0.5B layer (tools/device/model-cuda.ts): d 1024, 8 attention heads (hd 64, 2 KV heads), 24 Mamba-2 heads (p 64, n 128, 1 group, chunk 128)',
  batchSeqlen: `1 × ${L}`,
  iters: `median of ${ITERS} (after 1 warm-up)`,
  calibration: Object.fromEntries(Object.entries(cal).map(([k, v]) => [k, Number(v.toPrecision(3))])),
  perHeadModelMs: { attention: +(costs.attention * 1000).toFixed(2), mamba: +(costs.mamba * 1000).toFixed(2) },
});

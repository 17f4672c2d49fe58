// The hybrid head router on cpu: for a Falcon-H1 layer with the head counts of Falcon-H1-0.5B
// (tools/device/model-cuda.ts: 8 attention heads with 2 KV heads, 24 Mamba-2 heads in one group)
// and its widths divided by 4 so that a shard's step takes seconds on a cpu (d 256, head_dim 16,
// Mamba-2 head dim 16, d_state 32, chunk 64), on TP t = 3 and 5, time the forward + backward of
// every rank's shard (its attention heads, its Mamba-2 heads and its columns of the shared output
// projection — the work the head split moves; the evenly split MLP is left out) in this process,
// for the naive split and the routed one, and report the slowest rank's time over the mean. The
// ranks are timed round-robin by their CPU time, each rank's minimum over the rounds kept (robust
// to other load on the machine). It also tabulates what the cost model predicts at longer sequences. First it measures the backend's throughputs (the router's calibration) at these shapes.
//   npx tsx benchmarks/router/run.ts [--seqlen 1024] [--rounds 3] [--t 3,5]     (writes results/router-cpu-<seqlen>.{json,md})
// With --backend cuda (on the GPU machine: tools/device/run-router.sh) the widths are the real
// 0.5B ones (no divisor) and each rank's shard is timed by its GPU kernel time (tf.time), one GPU
// standing in for each rank in turn; writes router-cuda-<seqlen>.{json,md} under --out.
import { execSync } from 'node:child_process';
import { flashAttention } from '@falcon/attention';
import { localShape } from '@falcon/parallel';
import { ssdChunkScan } from '@falcon/mamba2';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { attentionShard, headCosts, hybridConfig, imbalance, naiveSplit, ropeOf, routeHeads, tensorParallelLayout, mambaShard } from '@falcon/hybrid';
import type { BackendCalibration, HeadCosts, HeadSplit, HybridConfig } from '@falcon/hybrid';
import { RESULTS_DIR, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const L = Number(arg('seqlen', '1024'));
const ITERS = Number(arg('rounds', '3'));
const BACKEND = arg('backend', 'cpu');
const UNIT = BACKEND === 'cpu' ? 'CPU' : 'GPU';
const OUT_DIR = arg('out', RESULTS_DIR);
const W = BACKEND === 'cpu' ? 4 : 1; // width divisor (cpu: a shard's step takes seconds)
const TPS = arg('t', '3,5').split(',').map(Number);
await initBackend(BACKEND as 'cpu' | 'cuda');

const config: HybridConfig = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 32784, hidden_size: 1024 / W, intermediate_size: 2048 / W, num_hidden_layers: 1,
  num_attention_heads: 8, num_key_value_heads: 2, head_dim: 64 / W, mamba_d_ssm: 1536 / W, mamba_n_heads: 24, mamba_d_head: 64 / W,
  mamba_n_groups: 1, mamba_d_state: 128 / W, mamba_d_conv: 4, mamba_chunk_size: 256 / W, mamba_rms_norm: false,
  max_position_embeddings: 16384, rope_parameters: { rope_type: 'default', rope_theta: 1e11 }, tie_word_embeddings: false, initializer_range: 0.02,
});
const b = config.base;
const d = b.hidden_size;
const rnd = (shape: number[]) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 0.02);

/** CPU ms (user + system) of this process while fn runs: the tfjs cpu backend computes on this thread, so other load on the machine hardly changes it. */
function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** ms of fn: CPU time on cpu, GPU kernel time (tf.time) elsewhere. */
async function timeMs(fn: () => void): Promise<number> {
  if (BACKEND === 'cpu') return cpuMs(fn);
  return (await tf.time(fn)).kernelMs as number;
}

/** ms of forward + backward of f over its inputs (minimum of ITERS after a warm-up). */
async function fwdBwd(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): Promise<number> {
  const g = tf.grads((...a: Tensor[]) => tf.sum(f(...a)));
  const run = () => tf.tidy(() => tf.dispose(g(xs)));
  await timeMs(run);
  let best = Infinity;
  for (let i = 0; i < ITERS; i++) best = Math.min(best, await timeMs(run));
  return best;
}

// (1) calibration: forward-equivalent throughput of each op class (model FLOPs / (fwd+bwd time / 3))
async function calibrate(): Promise<BackendCalibration> {
  const T = L;
  const [hd, p, n, Q] = [b.head_dim ?? 16, b.mamba_d_head, b.mamba_d_state, Math.min(b.mamba_chunk_size, L)];
  const x = rnd([T, d]);
  const w = rnd([512, d]);
  const mm = await fwdBwd((a, c) => tf.matMul(a, c, false, true), [x, w]);
  const q = rnd([1, L, 4, hd]);
  const kv = rnd([1, L, 1, hd]);
  const at = await fwdBwd((a, k, v) => flashAttention(a, k, v, { causal: true }).out, [q, kv, kv]);
  const h = 8;
  const X = rnd([1, L, h, p]);
  const dt = rnd([1, L, h]);
  const A = tf.neg(tf.ones([h]));
  const B = rnd([1, L, 1, n]);
  const ss = await fwdBwd((xx, t, bb, cc) => ssdChunkScan(xx, t, A, bb, cc, { chunkSize: Q, dtSoftplus: true }).y, [X, dt, B, B]);
  const e = rnd([T, 1024]);
  const el = await fwdBwd((a) => tf.mul(a, tf.sigmoid(a)), [e]);
  const bytes = await fwdBwd((a) => tf.add(a, 1), [rnd([T, 4096])]);
  return {
    matmul: (2 * T * d * 512) / (mm / 3 / 1000),
    attention: (2 * T * L * hd * 4) / (at / 3 / 1000),
    ssd: (h * (2 * T * Q * (p + n / h) + 4 * T * n * p)) / (ss / 3 / 1000),
    elementwise: (10 * T * 1024) / (el / 3 / 1000),
    bytes: (8 * T * 4096) / (bytes / 3 / 1000),
  };
}

/** One forward + backward of rank r's shard (attention heads, Mamba-2 heads, output-projection columns), and its cleanup. */
function rankStep(split: HeadSplit, t: number, r: number): { step: () => void; dispose: () => void } {
  const layout = tensorParallelLayout(config, { size: t, rank: r, splits: [split] });
  const shape = (n: string) => localShape(layout.plan[`model.layers.0.${n}`]);
  const names = ['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight', 'self_attn.o_proj.weight', 'mamba.in_proj.weight', 'mamba.conv1d.weight', 'mamba.conv1d.bias', 'mamba.dt_bias', 'mamba.A_log', 'mamba.D', 'mamba.out_proj.weight'];
  const params = names.map((n) => rnd(shape(n)));
  const u = rnd([1, L, d]);
  const positions = tf.reshape(tf.range(0, L, 1, 'int32'), [1, L]);
  const hd = b.head_dim ?? 16;
  const attn = { headDim: hd, keyMultiplier: 1, rope: ropeOf(b.rope_parameters as never, hd, b.max_position_embeddings) };
  const mcfg = { headDim: b.mamba_d_head, dState: b.mamba_d_state, dConv: 4, chunkSize: b.mamba_chunk_size, inMultiplier: 1, multipliers: [1, 1, 1, 1, 1] as const, dtLimit: [0, Infinity] as const, rmsNorm: false, normBeforeGate: false, eps: 1e-5 };
  const L0 = layout.layers[0];
  const f = (uu: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, inp: Tensor, cw: Tensor, cb: Tensor, dtb: Tensor, al: Tensor, D: Tensor, out: Tensor) => {
    const w: Record<string, Tensor> = { q_proj: q, k_proj: k, v_proj: v };
    const a = attentionShard(uu, (x, n) => tf.matMul(x, w[n], false, true), L0.attention!, attn, positions);
    const m = mambaShard(uu, (x) => tf.matMul(x, inp, false, true), { 'conv1d.weight': cw, 'conv1d.bias': cb, dt_bias: dtb, A_log: al, D }, L0.mamba!, mcfg, undefined);
    return tf.matMul(tf.reshape(tf.concat([a, m], -1), [L, -1]), tf.concat([o, out], 1), false, true);
  };
  const g = tf.grads((...a: Tensor[]) => tf.sum((f as (...xs: Tensor[]) => Tensor)(...a)));
  return { step: () => tf.tidy(() => tf.dispose(g([u, ...params]))), dispose: () => tf.dispose([u, positions, ...params]) };
}

/** Each rank's minimum CPU ms over the rounds (ranks timed round-robin, one warm-up each). */
async function rankTimes(split: HeadSplit, t: number): Promise<number[]> {
  const steps = Array.from({ length: t }, (_, r) => rankStep(split, t, r));
  for (const s of steps) await timeMs(s.step);
  const best = new Array<number>(t).fill(Infinity);
  for (let round = 0; round < ITERS; round++) {
    for (const [r, s] of steps.entries()) best[r] = Math.min(best[r], await timeMs(s.step));
  }
  steps.forEach((s) => s.dispose());
  return best;
}

/** Per-head CPU seconds of each kind measured on the shards themselves: 7A+M, A+23M (t 2) and A+M (t 8), fixed costs cancelled. */
async function measuredHeadCosts(): Promise<HeadCosts> {
  const one = async (split: HeadSplit, t: number, r: number) => {
    const s = rankStep(split, t, r);
    await timeMs(s.step);
    let ms = Infinity;
    for (let i = 0; i < ITERS; i++) ms = Math.min(ms, await timeMs(s.step));
    s.dispose();
    return ms;
  };
  const base = await one({ attention: new Array(8).fill(1), mamba: [17, 1, 1, 1, 1, 1, 1, 1] }, 8, 1);
  const attn = await one({ attention: [7, 1], mamba: [1, 23] }, 2, 0);
  const mamba = await one({ attention: [7, 1], mamba: [1, 23] }, 2, 1);
  return { attention: (attn - base) / 6 / 1000, mamba: (mamba - base) / 22 / 1000 };
}

const cal = await calibrate();
console.log('calibration (forward FLOP/s, bytes/s):', cal);
const costs = headCosts(config, 0, { seqlen: L, batch: 1, calibration: cal });
const measured = await measuredHeadCosts();
console.log('per-head CPU s: modelled (forward)', costs, 'measured (forward + backward)', measured);
// what the cost model (with this calibration) predicts at longer sequences, where attention heads cost more
const modelled: Row[] = [];
for (const seqlen of [1024, 4096, 16384, 32768]) {
  const cs = headCosts(config, 0, { seqlen, batch: 1, calibration: cal });
  for (const t of [3, 5]) {
    const heads = config.layers[0];
    const n = naiveSplit(heads, t);
    const r = routeHeads(heads, t, cs);
    modelled.push({ seqlen, t, 'attention / mamba head cost': +(cs.attention / cs.mamba).toFixed(2), 'naive slowest / mean': +imbalance(n, cs).toFixed(3), 'routed split (attn | mamba)': `${r.attention.join(' ')} | ${r.mamba.join(' ')}`, 'routed slowest / mean': +imbalance(r, cs).toFixed(3) });
  }
}
console.table(modelled);
const rows: Row[] = [];
for (const t of TPS) {
  const heads = config.layers[0];
  for (const [name, split] of [['naive', naiveSplit(heads, t)], ['router (FLOP model)', routeHeads(heads, t, costs)], ['router (measured head costs)', routeHeads(heads, t, measured)]] as const) {
    const ms = await rankTimes(split, t);
    const mean = ms.reduce((a, x) => a + x, 0) / t;
    rows.push({
      t,
      split: name,
      'attention heads': split.attention.join(' '),
      'mamba heads': split.mamba.join(' '),
      [`rank ${UNIT} ms (fwd+bwd)`]: ms.map((x) => x.toFixed(0)).join(' '),
      'slowest / mean (measured)': +(Math.max(...ms) / mean).toFixed(3),
      'slowest / mean (model)': +imbalance(split, costs).toFixed(3),
      'slowest / mean (measured head costs)': +imbalance(split, measured).toFixed(3),
      [`slowest ${UNIT} ms`]: +Math.max(...ms).toFixed(1),
    });
    console.log(rows[rows.length - 1]);
  }
  save();
}
/** Write the results so far (after each TP size). */
function save(): void {
  let commit = process.env.FALCON_COMMIT ?? '';
  try {
    commit ||= execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = 'unknown';
  }
  const widths = W === 1 ? 'real widths: d 1024, 8 attention heads (hd 64, 2 KV heads), 24 Mamba-2 heads (p 64, n 128, 1 group, chunk 256)' : 'widths / 4: d 256, 8 attention heads (hd 16, 2 KV heads), 24 Mamba-2 heads (p 16, n 32, 1 group, chunk 64)';
  writeResults(`router-${BACKEND}-${L}`, `Hybrid head router vs naive head split (${BACKEND}, per-rank shard timing)`, rows, {
    commit,
    shapes: `head counts of Falcon-H1-0.5B (tools/device/model-cuda.ts), ${widths}`,
    batchSeqlen: `1 × ${L}`,
    timing: BACKEND === 'cpu' ? `CPU time (user + system) of each rank's forward + backward, its minimum over ${ITERS} round-robin rounds (after 1 warm-up each); the cpu backend computes on one thread, so the machine's other load hardly moves it` : `GPU kernel time (tf.time) of each rank's forward + backward on one ${BACKEND} GPU standing in for each rank in turn, its minimum over ${ITERS} round-robin rounds (after 1 warm-up each)`,
    modelled: modelled.map((m) => `seqlen ${m.seqlen}, t ${m.t}: attention/mamba head ${m['attention / mamba head cost']}, naive ${m['naive slowest / mean']}, routed ${m['routed split (attn | mamba)']} → ${m['routed slowest / mean']}`),
    calibration: Object.fromEntries(Object.entries(cal).map(([k, v]) => [k, Number(v.toPrecision(3))])),
    perHeadModelMs: { attention: +(costs.attention * 1000).toFixed(2), mamba: +(costs.mamba * 1000).toFixed(2) },
    [`perHeadMeasured${UNIT === 'CPU' ? 'Cpu' : 'Gpu'}Ms`]: { attention: +(measured.attention * 1000).toFixed(1), mamba: +(measured.mamba * 1000).toFixed(1) },
  }, OUT_DIR);
}

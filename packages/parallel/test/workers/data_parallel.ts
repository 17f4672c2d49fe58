// Worker of test/data_parallel.test.ts: one rank of a real Gloo group. With parameters of awkward
// sizes and a bucket size that splits them into several buckets (padded to a multiple of the group
// size), it checks against arithmetic computed here from every rank's known gradients:
// allReduceGradients (the mean, exact: the values are multiples of 1/4); broadcastParameters;
// DistributedOptimizer (ZeRO-1) over an element-wise SGD with momentum for two steps with clipping
// (the parameters, the returned norm, the gathered state), loadState of that state into a fresh
// optimizer. Prints `RESULT {"checks": n, "failures": [...], "shardNumel": k}`.
import { tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { allReduceGradients, broadcastParameters, destroyProcessGroup, DistributedOptimizer, initProcessGroup, planBuckets } from '../../src/index.js';
import type { ShardOptimizer } from '../../src/index.js';

const failures: string[] = [];
let checks = 0;
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): void {
  checks++;
  if (got.length !== want.length) {
    failures.push(`${what}: ${got.length} values, expected ${want.length}`);
    return;
  }
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > rtol * scale) {
      failures.push(`${what}[${i}]: got ${got[i]}, expected ${want[i]} (rtol ${rtol})`);
      return;
    }
  }
}

/** SGD with momentum, element-wise: m ← μ·m + g; p ← p − lr·m (state slot 'm'). */
class Sgd implements ShardOptimizer {
  readonly m: Record<string, Variable> = {};
  steps = 0;
  constructor(private readonly params: Record<string, Variable>) {
    for (const [k, p] of Object.entries(params)) this.m[k] = tf.variable(tf.zerosLike(p), false);
  }
  step(grads: Record<string, Tensor>, lr: number): void {
    this.steps++;
    tf.tidy(() => {
      for (const [k, p] of Object.entries(this.params)) {
        this.m[k].assign(tf.add(tf.mul(this.m[k], MU), grads[k]));
        p.assign(tf.sub(p, tf.mul(this.m[k], lr)));
      }
    });
  }
  state() {
    return { tensors: Object.fromEntries(Object.entries(this.m).map(([k, v]) => [`m.${k}`, v as Tensor])), step: this.steps };
  }
  loadState(t: Record<string, Tensor>, step: number) {
    for (const k of Object.keys(this.m)) this.m[k].assign(t[`m.${k}`]);
    this.steps = step;
  }
}
const MU = 0.5;
const LR = 0.25;

const SHAPES: Record<string, number[]> = { a: [3, 5], b: [7], c: [2, 2, 3], d: [1], e: [11], f: [4, 1] };
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
/** Rank r's gradient of parameter k, element i: a multiple of 1/4 (float32 sums of them are exact). */
const gradOf = (r: number, k: string, i: number) => ((((i + 1) * (r + 2) + k.charCodeAt(0)) % 9) - 4) / 4;
const initOf = (k: string, i: number) => Math.sin(i + k.charCodeAt(0));

const group = await initProcessGroup({ backend: 'gloo', timeoutMs: 20_000 });
const n = group.size;
const rank = group.rank;
const BUCKET_BYTES = 40; // 10 floats: several buckets, some parameters alone in one, pads at the ends

const grads = (r: number) => Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, tf.tensor(Float32Array.from({ length: size(s) }, (_, i) => gradOf(r, k, i)), s)]));
const mean = (k: string) => Float32Array.from({ length: size(SHAPES[k]) }, (_, i) => {
  let sum = 0;
  for (let r = 0; r < n; r++) sum += gradOf(r, k, i);
  return Math.fround(Math.fround(sum) / n);
});

// 1. the mean gradient, exact
const buckets = planBuckets(SHAPES, BUCKET_BYTES);
const avg = await allReduceGradients(grads(rank), buckets, group);
checks++;
if (JSON.stringify(Object.keys(avg)) !== JSON.stringify(Object.keys(SHAPES))) failures.push(`allReduceGradients: keys ${Object.keys(avg)} not in the input's order`);
for (const k of Object.keys(SHAPES)) {
  checks++;
  if (!tf.util.arraysEqual(avg[k].shape, SHAPES[k])) failures.push(`allReduceGradients ${k}: shape [${avg[k].shape}]`);
  expectClose(`allReduceGradients ${k}`, avg[k].dataSync(), mean(k), 0);
}

// 2. broadcastParameters: rank 0's values everywhere
const params = Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, tf.variable(tf.tensor(Float32Array.from({ length: size(s) }, (_, i) => (rank === 0 ? initOf(k, i) : -7)), s))]));
await broadcastParameters(params, { group, src: 0, bucketBytes: BUCKET_BYTES });
for (const k of Object.keys(SHAPES)) expectClose(`broadcastParameters ${k}`, params[k].dataSync(), Float32Array.from({ length: size(SHAPES[k]) }, (_, i) => initOf(k, i)), 0);

// 3. ZeRO-1 over SGD with momentum, two steps with clipping at 1, against the arithmetic in doubles
const dist = new DistributedOptimizer(params, { inner: (s) => new Sgd(s), slots: ['m'], group, bucketBytes: BUCKET_BYTES });
const ref: Record<string, Float64Array> = {};
const refM: Record<string, Float64Array> = {};
for (const k of Object.keys(SHAPES)) {
  ref[k] = Float64Array.from({ length: size(SHAPES[k]) }, (_, i) => Math.fround(initOf(k, i)));
  refM[k] = new Float64Array(size(SHAPES[k]));
}
for (let step = 0; step < 2; step++) {
  const scaleG = step + 1; // the second step's gradients are twice the first's
  const local = Object.fromEntries(Object.entries(grads(rank)).map(([k, g]) => [k, tf.mul(g, scaleG)]));
  const { gradNorm } = await dist.step(local, LR, 1);
  let sq = 0;
  for (const k of Object.keys(SHAPES)) for (const g of mean(k)) sq += (g * scaleG) ** 2;
  const norm = Math.sqrt(sq);
  expectClose(`ZeRO-1 step ${step} norm`, [gradNorm], [norm], 1e-6);
  const clip = Math.min(1, 1 / (norm + 1e-6));
  for (const k of Object.keys(SHAPES)) {
    const g = mean(k);
    for (let i = 0; i < g.length; i++) {
      refM[k][i] = MU * refM[k][i] + g[i] * scaleG * clip;
      ref[k][i] -= LR * refM[k][i];
    }
    expectClose(`ZeRO-1 step ${step} param ${k}`, params[k].dataSync(), ref[k], 1e-6);
  }
}
const full = await dist.gatherState();
checks++;
if (full.step !== 2) failures.push(`gatherState: step ${full.step}, expected 2`);
for (const k of Object.keys(SHAPES)) {
  checks++;
  if (!tf.util.arraysEqual(full.tensors[`m.${k}`].shape, SHAPES[k])) failures.push(`gatherState m.${k}: shape [${full.tensors[`m.${k}`].shape}]`);
  expectClose(`gatherState m.${k}`, full.tensors[`m.${k}`].dataSync(), refM[k], 1e-6);
}
// 4. a fresh optimizer (its parameters set to the trained ones) loads the full state and continues identically
const params2 = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, tf.variable(tf.zerosLike(p))]));
const dist2 = new DistributedOptimizer(params2, { inner: (s) => new Sgd(s), slots: ['m'], group, bucketBytes: BUCKET_BYTES });
for (const k of Object.keys(SHAPES)) params2[k].assign(params[k]);
dist2.loadState(full.tensors, full.step);
const again = await dist2.gatherState();
for (const k of Object.keys(SHAPES)) expectClose(`loadState → gatherState m.${k}`, again.tensors[`m.${k}`].dataSync(), full.tensors[`m.${k}`].dataSync(), 0);
checks++;
try {
  dist2.loadState({ ...full.tensors, 'm.a': tf.zeros([15]) }, 2);
  failures.push('loadState: a misshapen tensor was accepted');
} catch (e) {
  if (!/'m\.a' has shape \[15\], expected \[3,5\]/.test((e as Error).message)) failures.push(`loadState error: ${(e as Error).message}`);
}
const g3 = grads(rank);
await dist.step(g3, LR, 0);
await dist2.step(g3, LR, 0);
for (const k of Object.keys(SHAPES)) expectClose(`resumed step ${k}`, params2[k].dataSync(), params[k].dataSync(), 0);

console.log(`RESULT ${JSON.stringify({ checks, failures, shardNumel: dist.shardNumel })}`);
dist.dispose();
dist2.dispose();
await destroyProcessGroup();

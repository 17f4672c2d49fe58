// Worker of test/mappings.test.ts: the differentiable mappings on a real Gloo group. Each rank r
// takes loss_r = sum(f(x) ⊙ w_r) with its own weights w_r; the gradient tfjs computes through the
// mapping must equal the gradient of the total loss Σ_r loss_r with respect to this rank's input,
// which is written out here from the w's (small integers / quarters: exact in float32).
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import {
  allToAllMapping,
  copyToRegion,
  destroyProcessGroup,
  gatherFromSequence,
  initProcessGroup,
  initializeModelParallel,
  reduceFromRegion,
  reduceScatterToSequence,
  scatterToSequence,
} from '../../src/index.js';

const failures: string[] = [];
let checks = 0;
const w = (r: number, shape: number[], salt: number): Tensor =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (((i * 5 + r * 11 + salt * 3) % 17) - 8) * 0.25),
    shape,
  );

function same(what: string, got: Tensor, want: Tensor): void {
  checks++;
  if (got.shape.join(',') !== want.shape.join(',')) return void failures.push(`${what}: shape [${got.shape}], want [${want.shape}]`);
  const g = got.dataSync();
  const e = want.dataSync();
  for (let i = 0; i < e.length; i++) if (g[i] !== e[i]) return void failures.push(`${what}: [${i}] = ${g[i]}, want ${e[i]}`);
}

async function main(): Promise<void> {
  const world = await initProcessGroup({ timeoutMs: 20_000 });
  const { size, rank } = world;
  const ranks = world.ranks;
  const B = 2, N = 3, H = 5; // [batch, seq chunk, hidden]
  const sumW = (shape: number[], salt: number): Tensor => tf.addN(ranks.map((r) => w(r, shape, salt)));
  const chunk = (t: Tensor, r: number, axis: number): Tensor => tf.split(t, size, axis)[r];

  // copyToRegion: x replicated; dL/dx = Σ_r w_r.
  {
    const x = w(99, [B, N, H], 0);
    const [y, g] = [copyToRegion(x), tf.grad((a: Tensor) => tf.sum(tf.mul(copyToRegion(a), w(rank, [B, N, H], 1))))(x)];
    same('copyToRegion forward', y, x);
    same('copyToRegion grad', g, sumW([B, N, H], 1));
  }
  // reduceFromRegion: y = Σ_r x_r; downstream replicated (w the same on every rank); dL_r/dx_r = w.
  {
    const x = w(rank, [B, N, H], 2);
    same('reduceFromRegion forward', reduceFromRegion(x), sumW([B, N, H], 2));
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(reduceFromRegion(a), w(7, [B, N, H], 3))))(x);
    same('reduceFromRegion grad', g, w(7, [B, N, H], 3));
  }
  // scatterToSequence: x replicated [B, size·N, H]; y_r = slice r; dL/dx = concat_r w_r.
  {
    const x = w(42, [B, size * N, H], 4);
    same('scatterToSequence forward', scatterToSequence(x), chunk(x, rank, 1));
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(scatterToSequence(a), w(rank, [B, N, H], 5))))(x);
    same('scatterToSequence grad', g, tf.concat(ranks.map((r) => w(r, [B, N, H], 5)), 1));
  }
  // gatherFromSequence: y = concat_r x_r; dL/dx_r = slice r of Σ_s w_s (reduce-scatter), or slice r of w_r (split).
  {
    const x = w(rank, [B, N, H], 6);
    same('gatherFromSequence forward', gatherFromSequence(x), tf.concat(ranks.map((r) => w(r, [B, N, H], 6)), 1));
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(gatherFromSequence(a), w(rank, [B, size * N, H], 7))))(x);
    same('gatherFromSequence grad (reduce-scatter)', g, chunk(sumW([B, size * N, H], 7), rank, 1));
    const g2 = tf.grad((a: Tensor) => tf.sum(tf.mul(gatherFromSequence(a, { tensorParallelOutputGrad: false }), w(rank, [B, size * N, H], 8))))(x);
    same('gatherFromSequence grad (split)', g2, chunk(w(rank, [B, size * N, H], 8), rank, 1));
  }
  // reduceScatterToSequence: y_r = slice r of Σ_s x_s; dL/dx_r = concat_s w_s.
  {
    const x = w(rank, [B, size * N, H], 9);
    same('reduceScatterToSequence forward', reduceScatterToSequence(x), chunk(sumW([B, size * N, H], 9), rank, 1));
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(reduceScatterToSequence(a), w(rank, [B, N, H], 10))))(x);
    same('reduceScatterToSequence grad', g, tf.concat(ranks.map((r) => w(r, [B, N, H], 10)), 1));
  }
  // allToAll (split heads axis 2, gather sequence axis 1 — the context-parallel pattern): y_r = concat_s (x_s block r along 2) along 1.
  {
    const x = w(rank, [B, N, size * H], 11);
    const fwd = tf.concat(ranks.map((s) => chunk(w(s, [B, N, size * H], 11), rank, 2)), 1);
    same('allToAll forward', allToAllMapping(x, { splitAxis: 2, concatAxis: 1 }), fwd);
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(allToAllMapping(a, { splitAxis: 2, concatAxis: 1 }), w(rank, [B, size * N, H], 12))))(x);
    // dL/dx_r block s (axis 2) = w_s's block r along axis 1.
    same('allToAll grad', g, tf.concat(ranks.map((s) => chunk(w(s, [B, size * N, H], 12), rank, 1)), 2));
  }
  // A column-parallel → row-parallel MLP in a TP group under tf.variableGrads (the Megatron pattern), against the unsplit one.
  if (size % 2 === 0) {
    const mp = await initializeModelParallel({ tp: 2 });
    const tpRank = mp.tp.rank;
    const X = w(5, [4, 6], 13);
    const W1 = w(6, [6, 8], 14);
    const W2 = w(8, [8, 6], 15);
    const W1s = tf.variable(chunk(W1, tpRank, 1));
    const W2s = tf.variable(chunk(W2, tpRank, 0));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(reduceFromRegion(tf.matMul(tf.matMul(copyToRegion(X, { group: mp.tp }), W1s), W2s), { group: mp.tp }))) as tf.Scalar, [W1s, W2s]);
    const V1 = tf.variable(W1, true, 'w1');
    const V2 = tf.variable(W2, true, 'w2');
    const full = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(tf.matMul(X, V1), V2))) as tf.Scalar, [V1, V2]);
    checks++;
    // Tolerance: sums over 8 products re-associated across 2 ranks; float32, values ≈ 10^2..10^3: 1e-4 relative.
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));
    if (rel(value.dataSync()[0], full.value.dataSync()[0]) > 1e-4) failures.push(`TP MLP loss ${value.dataSync()[0]} vs ${full.value.dataSync()[0]}`);
    const fg1 = chunk(full.grads.w1, tpRank, 1).dataSync();
    const g1 = grads[W1s.name].dataSync();
    checks++;
    for (let i = 0; i < fg1.length; i++) if (rel(g1[i], fg1[i]) > 1e-4) failures.push(`TP MLP dW1[${i}] ${g1[i]} vs ${fg1[i]}`);
  }
  await destroyProcessGroup();
  console.log(`RESULT ${JSON.stringify({ checks, failures })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Worker of test/tensor_parallel.test.ts: the generic tensor-parallel layers on a real Gloo group,
// against the same computation unsplit (every rank computes the reference too): a column → row
// MLP (with and without SP), the vocab-parallel embedding and cross-entropy (values and
// gradients), the sharded BitNet statistics, placeShard / gatherShards / reduceShardGradient.
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import {
  columnParallelLinear,
  destroyProcessGroup,
  gatherShards,
  initProcessGroup,
  placeShard,
  reduceShardGradient,
  rowParallelLinear,
  shardedAbsMax,
  shardedMeanAbs,
  takeShard,
  vocabParallelCrossEntropy,
  vocabParallelEmbedding,
} from '../../src/index.js';
import type { ShardSpec } from '../../src/index.js';

const world = await initProcessGroup({ timeoutMs: 20_000 });
const { size, rank } = world;
const failures: string[] = [];
let checks = 0;
const rnd = (shape: number[], seed: number): Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** max |a − b| / max |b| ≤ tol. */
function close(what: string, a: Tensor, b: Tensor, tol: number): void {
  checks++;
  if (!tf.util.arraysEqual(a.shape, b.shape)) return void failures.push(`${what}: shape [${a.shape}] vs [${b.shape}]`);
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  if (!(d / s <= tol)) failures.push(`${what}: relative error ${d / s}`);
}
/** This rank's [start, end) of n split over the group (uneven: the first n mod size ranks get one more). */
const part = (n: number): [number, number] => {
  const c = Array.from({ length: size }, (_, r) => Math.floor(n / size) + (r < n % size ? 1 : 0));
  const s = c.slice(0, rank).reduce((a, b) => a + b, 0);
  return [s, s + c[rank]];
};
// float32 sums in another order: 1e-5 relative
const TOL = 1e-5;

// column → row MLP: y = relu(x W1ᵀ) W2ᵀ, W1 [f, d] split by rows, W2 [d, f] by columns (f = 7: uneven)
for (const sp of [false, true]) {
  const [B, L, D, F] = [2, 2 * size, 5, 7];
  const x = rnd([B, L, D], 1);
  const w1 = rnd([F, D], 2);
  const w2 = rnd([D, F], 3);
  const b2 = rnd([D], 4);
  const [f0, f1] = part(F);
  const s1: ShardSpec = { shape: [F, D], axis: 0, ranges: [[f0, f1]] };
  const s2: ShardSpec = { shape: [D, F], axis: 1, ranges: [[f0, f1]] };
  const w1l = takeShard(w1, s1);
  const w2l = takeShard(w2, s2);
  const seq = (t: Tensor) => (sp ? tf.slice(t, [0, rank * (L / size), 0], [B, L / size, D]) : t);
  const f = (xx: Tensor, a: Tensor, c: Tensor, bb: Tensor) => tf.sum(tf.square(rowParallelLinear(tf.relu(columnParallelLinear(xx, a, { group: world, sequenceParallel: sp })), c, { group: world, sequenceParallel: sp, bias: bb })));
  const ref = (xx: Tensor, a: Tensor, c: Tensor, bb: Tensor) => tf.sum(tf.square(tf.add(tf.matMul(tf.relu(tf.matMul(tf.reshape(xx, [-1, D]), a, false, true)), c, false, true), bb)));
  // the TP loss is this rank's part (SP: its positions; else the whole, the same on every rank)
  const [gx, g1, g2, gb] = tf.grads(f)([seq(x), w1l, w2l, b2]);
  const rowsMine = (t: Tensor) => seq(tf.reshape(t, [B, L, D]));
  const refMine = (xx: Tensor, a: Tensor, c: Tensor, bb: Tensor) => tf.sum(tf.square(rowsMine(tf.add(tf.matMul(tf.relu(tf.matMul(tf.reshape(xx, [-1, D]), a, false, true)), c, false, true), bb))));
  const [rx, r1, r2, rb] = tf.grads(ref)([x, w1, w2, b2]);
  const label = sp ? 'SP' : 'TP';
  close(`${label} column→row value`, tf.sum(tf.square(rowParallelLinear(tf.relu(columnParallelLinear(seq(x), w1l, { group: world, sequenceParallel: sp })), w2l, { group: world, sequenceParallel: sp, bias: b2 }))), sp ? refMine(x, w1, w2, b2) : ref(x, w1, w2, b2), TOL);
  // weight gradients are of the total loss (SP: the sum of every rank's part = the reference's)
  close(`${label} dW1 shard`, g1, takeShard(r1, s1), TOL);
  close(`${label} dW2 shard`, g2, takeShard(r2, s2), TOL);
  close(`${label} dx`, gx, seq(rx), TOL);
  // the replicated bias saw only this rank's positions under SP: summed over the group it is the total
  close(`${label} dbias`, sp ? reduceShardGradient(gb, { shape: [D], axis: null, ranges: [] }, { group: world }) : gb, rb, TOL);
}

// vocab-parallel embedding and cross-entropy (V = 11: uneven), with an ignored target
{
  const [N, D, V] = [6, 4, 11];
  const [v0, v1] = part(V);
  const table = rnd([V, D], 5);
  const spec: ShardSpec = { shape: [V, D], axis: 0, ranges: [[v0, v1]] };
  const ids = tf.tensor2d([[0, 3, 10, 7, 5, 1]], [1, N], 'int32');
  const mine = takeShard(table, spec);
  const probe = rnd([1, N, D], 6);
  const [ge] = tf.grads((w: Tensor) => tf.sum(tf.mul(vocabParallelEmbedding(ids, w, { vocabStart: v0, group: world }), probe)))([mine]);
  close('embedding value', vocabParallelEmbedding(ids, mine, { vocabStart: v0, group: world }), tf.gather(table, ids), TOL);
  const [gRef] = tf.grads((w: Tensor) => tf.sum(tf.mul(tf.gather(w, ids), probe)))([table]);
  close('embedding grad', ge, takeShard(gRef, spec), TOL);

  const logits = tf.mul(rnd([N, V], 7), 3);
  const targets = tf.tensor1d([2, 10, -100, 0, 7, 4], 'int32');
  const lspec: ShardSpec = { shape: [N, V], axis: 1, ranges: [[v0, v1]] };
  const local = takeShard(logits, lspec);
  const valid = tf.tensor1d([1, 1, 0, 1, 1, 1]);
  const weights = tf.tensor1d([0.5, -1, 2, 1.5, 1, 0.25]);
  const refCe = (z: Tensor) => {
    const safe = tf.maximum(targets, tf.scalar(0, 'int32'));
    return tf.mul(tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(z, tf.oneHot(safe, V)), 1)), valid);
  };
  close('cross-entropy value', vocabParallelCrossEntropy(local, targets, { vocabStart: v0, group: world }), refCe(logits), TOL);
  const [gz] = tf.grads((z: Tensor) => tf.sum(tf.mul(vocabParallelCrossEntropy(z, targets, { vocabStart: v0, group: world }), weights)))([local]);
  const [gr] = tf.grads((z: Tensor) => tf.sum(tf.mul(refCe(z), weights)))([logits]);
  close('cross-entropy grad', gz, takeShard(gr, lspec), TOL);
}

// sharded BitNet statistics: mean |W| with a replicated row counted once, per-token max |x|
{
  const w = rnd([5, 3], 8);
  // rows 0-1 on rank 0, rows 1-4 on the last rank, row 1 on any other: row 1 replicated, counted by rank 0
  const ranges: Array<[number, number]> = rank === 0 ? [[0, 2]] : rank === size - 1 ? [[1, 5]] : [[1, 2]];
  const mine = takeShard(w, { shape: [5, 3], axis: 0, ranges: ranges });
  const counted = tf.tensor1d(rank === 0 ? [1, 1] : rank === size - 1 ? [0, 1, 1, 1] : [0]);
  close('shardedMeanAbs', shardedMeanAbs(mine, { group: world, count: 15, counted }), tf.reshape(tf.mean(tf.abs(w)), [1]), TOL);
  const x = rnd([4, 7], 9);
  const [c0, c1] = part(7);
  close('shardedAbsMax', shardedAbsMax(tf.slice(x, [0, c0], [4, c1 - c0]), { group: world }), tf.max(tf.abs(x), -1, true), 0);
}

// placeShard is takeShard's inverse; gatherShards un-shards (overlaps averaged); reduceShardGradient sums overlaps
{
  const full = rnd([6, 4], 10);
  const spec: ShardSpec = { shape: [6, 4], axis: 0, ranges: rank === 0 ? [[0, 2], [4, 5]] : [[2, 4], [4, 6]] };
  const piece = takeShard(full, spec);
  close('placeShard ∘ takeShard', takeShard(placeShard(piece, spec), spec), piece, 0);
  if (size === 2) {
    close('gatherShards', gatherShards(piece, spec, { group: world }), full, 0);
    // row 4 is held by both ranks: its reduced gradient is the sum of both pieces' row 4
    const g = reduceShardGradient(tf.onesLike(piece), spec, { group: world });
    const want = rank === 0 ? [1, 1, 2] : [1, 1, 2, 1];
    close('reduceShardGradient', tf.slice(g, [0, 0], [-1, 1]), tf.tensor2d(want, [want.length, 1]), 0);
  }
}

console.log(`RESULT ${JSON.stringify({ checks, failures })}`);
await destroyProcessGroup();

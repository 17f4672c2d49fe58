// weightQuant / ternarize: every backend against the reference on awkward shapes and edge cases
// (all zeros, a huge outlier, one element), the externally supplied mean|W| of a shard, the STE
// gradient, bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ternarize, weightQuant } from '../src/index.js';
import { weightQuantReference } from '../src/reference/weight_quant.js';

const SHAPES: number[][] = [[13, 7], [30, 16], [8, 5], [1, 1], [3, 5, 4], [257]];

describe.each(backendsUnderTest())('weightQuant on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]); // a WGSL error makes a kernel return zeros instead of throwing
  });

  const check = async (w: tf.Tensor, name: string) => {
    const got = weightQuant(w);
    const ref = weightQuantReference(w);
    // the scale: the f32 sum of |W| in another order than tfjs's mean (f64 on cpu, a tree on
    // webgpu) has relative error ≲ log2(n)·2^-24 ≈ 5e-7 at n = 500; 1/x adds ≤ 2.5 ulp on GPUs
    await expectCloseAsync(got.scale, ref.scale, { rtol: 2e-6, atol: 0, name: `${name} scale` });
    // ternary values agree exactly (a flip needs |W·s| within 1e-6 of 0.5); the dequantised
    // values q/s then differ only by the scale's error
    await expectCloseAsync(got.y, ref.y, { rtol: 2e-6, atol: 0, name: `${name} y` });
    const t = ternarize(w);
    const tRef = tf.cast(tf.round(tf.mul(ref.y, ref.scale)), 'int32');
    expect(Array.from(await t.ternary.data())).toEqual(Array.from(await tRef.data()));
    tf.dispose([got.y, got.scale, ref.y, ref.scale, t.ternary, t.scale, tRef]);
  };

  it.each(SHAPES)('matches the reference on random normal weights %j', async (...shape) => {
    await check(randomTensor(shape, shape.reduce((a, b) => a * b, 1), { std: 0.02 }), `[${shape}]`);
  });

  it('all zeros: scale 1/1e-5, output zeros', async () => {
    const w = tf.zeros([6, 3]);
    const { y, scale } = weightQuant(w);
    await expectCloseAsync(scale, [Math.fround(1 / Math.fround(1e-5))], { rtol: 3e-7, atol: 0, name: 'zeros scale' }); // 1/x: ≤ 2.5 ulp on GPUs
    expect(Array.from(await y.data()).every((v) => v === 0)).toBe(true);
    await check(w, 'zeros');
  });

  it('a huge outlier dominates the scale: everything else rounds to 0', async () => {
    const v = (await randomTensor([9, 11], 3).data()) as Float32Array;
    v[40] = 1e6;
    const w = tf.tensor2d(v, [9, 11]);
    await check(w, 'outlier');
    const t = await ternarize(w).ternary.data();
    expect(Array.from(t).filter((x) => x !== 0)).toEqual([1]);
  });

  it('one element quantises to ±mean|W| = itself', async () => {
    const { y } = weightQuant(tf.tensor2d([[-0.37]]));
    await expectCloseAsync(y, [-0.37], { rtol: 6e-7, name: 'single' }); // 1/(1/0.37): two divisions, ≤ 2.5 ulp each on GPUs
  });

  it('rounds ties half to even: W·s = ±0.5 → 0, ±1.5 → ±2 clipped to ±1', async () => {
    // mean|W| = 1 → s = 1
    const w = tf.tensor1d([0.5, -0.5, 1.5, -1.5, 1, -1]);
    expect(Array.from(await ternarize(w).ternary.data())).toEqual([0, 0, 1, -1, 1, -1]);
    await check(w, 'ties');
  });

  it('a shard quantised with the whole weight’s mean|W| equals the slice of the whole weight quantised', async () => {
    const w = randomTensor([30, 16], 9, { std: 0.05 });
    const meanAbs = tf.mean(tf.abs(w)); // what an all-reduce of Σ|W| over the shards, / count, gives
    const whole = weightQuant(w, { meanAbs }).y;
    // and the supplied mean is the kernel's own: same quantisation as without it (to its sum's rounding)
    await expectCloseAsync(whole, weightQuant(w).y, { rtol: 2e-6, atol: 0, name: 'meanAbs supplied' });
    for (const [begin, size] of [
      [[0, 0], [17, 16]], // column-parallel: split along out
      [[17, 0], [13, 16]],
      [[0, 0], [30, 5]], // row-parallel: split along in
      [[0, 5], [30, 11]],
    ] as [number[], number[]][]) {
      const shard = weightQuant(tf.slice(w, begin, size), { meanAbs });
      // same f32 operations on the same values and the same scale: exact
      await expectCloseAsync(shard.y, tf.slice(whole, begin, size), { rtol: 0, atol: 0, name: `shard ${begin}+${size}` });
    }
  });

  it('the gradient is the straight-through estimator: dW = dy', async () => {
    const w = randomTensor([13, 7], 11);
    const g = randomTensor([13, 7], 12);
    const loss = (fn: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => tf.sum(tf.mul(fn(x), g)) as tf.Scalar;
    const [got] = tf.grads(loss((x) => weightQuant(x).y))([w]);
    const [want] = tf.grads(loss((x) => weightQuantReference(x).y))([w]);
    await expectCloseAsync(got, g, { rtol: 0, atol: 0, name: 'dW = dy' }); // identity: exact
    await expectCloseAsync(got, want, { rtol: 0, atol: 0, name: 'dW vs reference' });
    // with an external meanAbs, still identity for w (meanAbs is a constant to the quantiser)
    const [got2] = tf.grads(loss((x) => weightQuant(x, { meanAbs: tf.scalar(0.3) }).y))([w]);
    await expectCloseAsync(got2, g, { rtol: 0, atol: 0, name: 'dW with meanAbs' });
  });

  it('rejects bad input before any kernel runs, naming the argument', () => {
    expect(() => weightQuant(tf.zeros([2, 2], 'int32'))).toThrow(/weightQuant: argument 'w' must be float32, got int32/);
    expect(() => weightQuant(tf.zeros([0, 3]))).toThrow(/weightQuant: argument 'w' is empty \(shape \[0, 3\]\)/);
    expect(() => weightQuant(tf.zeros([2, 2]), { meanAbs: tf.zeros([2]) })).toThrow(/weightQuant: argument 'meanAbs' must hold one value \(shape \[\] or \[1\]\), got shape \[2\]/);
    expect(() => weightQuant(tf.zeros([2, 2]), { meanAbs: tf.scalar(1, 'int32') })).toThrow(/weightQuant: argument 'meanAbs' must be float32/);
  });
});

// rmsNorm (the worked example op) on every backend under test: forward and backward against the
// tfjs-ops reference on seeded random inputs of awkward sizes, group-wise weights, empty inputs,
// and bad input rejected with a message naming the argument.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, rmsNorm, rmsNormBackward, rmsNormBackwardReference, rmsNormReference, takeWebgpuErrors, tf } from '../src/index.js';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '../src/testing/index.js';

// Tolerances. Kernels and reference both compute in float32 but sum x² in different orders (the
// reference with tfjs's mean, the CPU kernel in float64, the WebGPU kernel as a tree); the sum of
// `dim` positive terms has relative error ≲ dim·2⁻²⁴ in the worst case (6e-5 at dim 1000) and
// ≈ √dim·2⁻²⁴ typically, and r = 1/√(mean + eps) halves it. Observed worst (both backends):
// 9.5e-7 absolute, 2.3e-7 relative on outputs of size O(1..5). rtol 2e-5 leaves 100× margin on the
// typical case and still catches any wrong term (an off-by-one in dim is 1e-4 at dim 4097);
// atol 1e-6 covers outputs near 0.
const FWD = { rtol: 2e-5, atol: 1e-6 };
// The backward also reduces Σ dy·w·x (terms of both signs, so a relative bound is meaningless for
// dx near 0) and dw sums up to 33 rows. Observed worst: 3.8e-6 absolute on |dw| ≈ 21, 9.5e-7 on
// |dx| ≈ 11 (relative 7e-5 only where dw is near 0). atol 1e-5 is ≈ 10 ulp of the largest
// results; rtol 2e-5 ≈ the dim·ulp bound of one reduction at dim 300.
const BWD = { rtol: 2e-5, atol: 1e-5 };

const SHAPES: [number[], number[]][] = [
  // [x shape, weight shape]: rows 1, 7, 33 × dims 5, 64, 1000, 4097, one with leading dims.
  [[1, 5], [5]],
  [[7, 64], [64]],
  [[33, 1000], [1000]],
  [[7, 4097], [4097]],
  [[3, 11, 5], [5]],
  [[1, 4097], [4097]],
  // group-wise weight: x [..., groups, dim], weight [groups, dim]
  [[5, 4, 6], [4, 6]],
];

describe.each(backendsUnderTest())('rmsNorm on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // A WGSL compile or validation error makes a kernel return zeros instead of throwing.
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(SHAPES)('forward matches the reference: x [%s], weight [%s]', async (xs, ws) => {
    const x = randomTensor(xs, 1);
    const w = randomTensor(ws, 2, { mean: 1, std: 0.5 });
    const y = rmsNorm(x, w, 1e-5);
    expect(y.shape).toEqual(xs);
    await expectCloseAsync(y, rmsNormReference(x, w, 1e-5), { ...FWD, name: `rmsNorm [${xs}]` });
  });

  it.each(SHAPES)('gradients match autodiff of the reference: x [%s], weight [%s]', async (xs, ws) => {
    const x = randomTensor(xs, 3);
    const w = randomTensor(ws, 4, { mean: 1, std: 0.5 });
    const dy = randomTensor(xs, 5);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNorm(a, b, 1e-6))([x, w], dy);
    const [rdx, rdw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNormReference(a, b, 1e-6))([x, w], dy);
    await expectCloseAsync(dx, rdx, { ...BWD, name: `dx [${xs}]` });
    await expectCloseAsync(dw, rdw, { ...BWD, name: `dw [${xs}]` });
  });

  it('rmsNormBackward and its reference agree with autodiff (the reference runs on backends without a kernel)', async () => {
    const x = randomTensor([7, 33], 6);
    const w = randomTensor([33], 7);
    const dy = randomTensor([7, 33], 8);
    const { dx, dw } = rmsNormBackward(dy, x, w, 1e-5);
    const ref = rmsNormBackwardReference(dy, x, w, 1e-5);
    const [adx, adw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNormReference(a, b, 1e-5))([x, w], dy);
    await expectCloseAsync(dx, adx, { ...BWD, name: 'dx' });
    await expectCloseAsync(dw, adw, { ...BWD, name: 'dw' });
    await expectCloseAsync(ref.dx, adx, { ...BWD, name: 'reference dx' });
    await expectCloseAsync(ref.dw, adw, { ...BWD, name: 'reference dw' });
  });

  it('large and tiny inputs stay finite (eps dominates an all-zero row)', async () => {
    const x = tf.concat([tf.zeros([1, 64]), tf.mul(randomTensor([1, 64], 9), 1e4), tf.mul(randomTensor([1, 64], 10), 1e-4)]);
    const w = tf.ones([64]);
    const y = rmsNorm(x, w, 1e-5);
    await expectCloseAsync(y, rmsNormReference(x, w, 1e-5), { ...FWD, name: 'extreme rows' });
    expect(Array.from((await y.data()).slice(0, 64))).toEqual(new Array(64).fill(0));
  });

  it('an input with no rows gives an empty output and zero weight gradient', async () => {
    const x = tf.zeros([0, 8]);
    const w = tf.ones([8]);
    expect(rmsNorm(x, w, 1e-5).shape).toEqual([0, 8]);
    const { dx, dw } = rmsNormBackward(tf.zeros([0, 8]), x, w, 1e-5);
    expect(dx.shape).toEqual([0, 8]);
    expect(Array.from(await dw.data())).toEqual(new Array(8).fill(0));
  });

  it('rejects bad input with a message naming the argument', () => {
    const x = tf.zeros([2, 8]);
    expect(() => rmsNorm(x, tf.ones([7]), 1e-5)).toThrow(/rmsNorm: weight has shape \[7\], expected \[8\]/);
    expect(() => rmsNorm(x, tf.ones([2, 2, 8]), 1e-5)).toThrow(/rmsNorm: weight has shape/);
    expect(() => rmsNorm(tf.zeros([2, 8], 'int32'), tf.ones([8]), 1e-5)).toThrow(/rmsNorm: x must be float32, got int32/);
    expect(() => rmsNorm(x, tf.ones([8]), -1)).toThrow(/rmsNorm: eps must be a finite number ≥ 0, got -1/);
    expect(() => rmsNorm(tf.scalar(1), tf.ones([1]), 1e-5)).toThrow(/rmsNorm: x must have at least 1 dim/);
    expect(() => rmsNorm(tf.zeros([2, 0]), tf.ones([0]), 1e-5)).toThrow(/rmsNorm: the last dim of x must be at least 1/);
    expect(() => rmsNormBackward(tf.zeros([2, 7]), x, tf.ones([8]), 1e-5)).toThrow(/rmsNormBackward: dy has shape \[2,7\], expected x's shape \[2,8\]/);
  });
});

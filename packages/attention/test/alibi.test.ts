// ALiBi: the slopes (powers of two and the standard fix otherwise, as in BLOOM), the bias kernel
// against the reference forward and backward, and bad input.
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alibiBias, alibiSlopes } from '../src/index.js';
import { alibiBiasReference } from '../src/reference/alibi_bias.js';
import { webgpuErrors } from './helpers.js';

describe.each(backendsUnderTest())('ALiBi on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await webgpuErrors()).toEqual([]); // WGSL errors make kernels return zeros
  });

  it('slopes: 2^(-8i/H) for powers of two, the interleaved fix otherwise', async () => {
    const pow = (xs: number[]) => xs.map((e) => 2 ** e);
    // exact powers of two in float32
    await expectCloseAsync(alibiSlopes(8), pow([-1, -2, -3, -4, -5, -6, -7, -8]), { rtol: 0, atol: 0, name: 'H=8' });
    await expectCloseAsync(alibiSlopes(1), pow([-8]), { rtol: 0, atol: 0, name: 'H=1' });
    await expectCloseAsync(alibiSlopes(4), pow([-2, -4, -6, -8]), { rtol: 0, atol: 0, name: 'H=4' });
    // H=12: the 8 slopes of H=8, then 2^(-0.5), 2^(-1.5), 2^(-2.5), 2^(-3.5) (odd powers of 2^(-4/8)); float32 rounding
    await expectCloseAsync(alibiSlopes(12), pow([-1, -2, -3, -4, -5, -6, -7, -8, -0.5, -1.5, -2.5, -3.5]), { rtol: 1e-7, atol: 0, name: 'H=12' });
    await expectCloseAsync(alibiSlopes(6), pow([-2, -4, -6, -8, -1, -3]), { rtol: 1e-7, atol: 0, name: 'H=6' });
    expect(() => alibiSlopes(0)).toThrow(/alibiSlopes: nHeads must be an integer ≥ 1, got 0/);
  });

  it.each([
    [3, 7, 11],
    [2, 9, 9],
    [5, 1, 4],
  ])('bias kernel matches the reference: H=%i, seqlenQ=%i, seqlenK=%i (and slope gradients)', async (h, l, lk) => {
    {
      const slopes = randomTensor([h], 1, { distribution: 'uniform', min: 0, max: 1 });
      // one float32 product per element in both
      await expectCloseAsync(alibiBias(slopes, l, lk), alibiBiasReference(slopes, l, lk), { rtol: 1e-7, atol: 0, name: 'bias' });
      const w = randomTensor([h, l, lk], 2);
      const [got] = tf.grads((s: tf.Tensor) => tf.sum(tf.mul(alibiBias(s, l, lk), w)) as tf.Scalar)([slopes]);
      const [want] = tf.grads((s: tf.Tensor) => tf.sum(tf.mul(alibiBiasReference(s, l, lk), w)) as tf.Scalar)([slopes]);
      await expectCloseAsync(got, want, { rtol: 1e-6, atol: 1e-6, name: 'dslopes' }); // same float32 sums of ≤ 77 products
    }
  });

  it('causal alignment: bias is −slope·(t − s) with queries at the end of the keys', async () => {
    const b = (await alibiBias(tf.tensor1d([0.5]), 2, 4).array()) as number[][][];
    expect(b[0]).toEqual([
      [-1, -0.5, -0, -0.5],
      [-1.5, -1, -0.5, -0],
    ]);
  });

  it('bad input', () => {
    expect(() => alibiBias(tf.ones([2, 2]), 3)).toThrow(/alibiBias: slopes must have rank 1 \[nHeads\], got shape \[2,2\]/);
    expect(() => alibiBias(tf.ones([2]), 0)).toThrow(/alibiBias: seqlenQ must be an integer ≥ 1, got 0/);
  });
});

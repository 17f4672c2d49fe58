// Seeded initialisers and the numeric test helpers.
import { describe, expect, it } from 'vitest';
import { init, Rng, tf } from '../src/index.js';
import { backendsUnderTest, expectClose, randomTensor, relativeError } from '../src/testing/index.js';

describe('seeded initialisers', () => {
  it('give the same numbers for the same seed and different ones otherwise', () => {
    expect(Array.from(init.normal([100], { seed: 3 }).dataSync())).toEqual(Array.from(init.normal([100], { seed: 3 }).dataSync()));
    expect(relativeError(init.normal([100], { seed: 3 }), init.normal([100], { seed: 4 }))).toBeGreaterThan(0.5);
  });
  it('have the requested moments and bounds', () => {
    const n = init.normal([20000], { seed: 1, mean: 2, std: 0.5 });
    expect(Math.abs(tf.mean(n).dataSync()[0] - 2)).toBeLessThan(0.02); // 4σ/√n ≈ 0.014
    expect(Math.abs(tf.moments(n).variance.dataSync()[0] - 0.25)).toBeLessThan(0.02);
    const u = init.uniform([20000], { seed: 1, min: -3, max: 5 }).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(5);
    const t = init.truncatedNormal([20000], { seed: 1, std: 0.02 }).dataSync();
    expect(Math.max(...t.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-7);
    expect(Array.from(init.zeros([2, 2]).dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(init.ones([3]).dataSync())).toEqual([1, 1, 1]);
  });
  it('reject bad arguments', () => {
    expect(() => init.uniform([2], { min: 1, max: 1 })).toThrow(/max \(1\) must be greater than min \(1\)/);
    expect(() => init.normal([2, -1])).toThrow(/invalid shape \[2, -1\]/);
  });
  it('Rng integers are in range and roughly uniform', () => {
    const r = new Rng(9);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 10000; i++) counts[r.int(5)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

describe('test helpers', () => {
  it('expectClose names the worst element', () => {
    const e = tf.tensor([[1, 2], [3, 4]]);
    expectClose(tf.tensor([[1, 2], [3, 4.000001]]), e, { rtol: 1e-6 });
    expect(() => expectClose(tf.tensor([[1, 2.1], [3, 4.5]]), e, { rtol: 1e-3, name: 'logits' })).toThrow(
      /logits: 2 of 4 elements differ.*worst at \[1, 1\]: actual 4\.5, expected 4/,
    );
    expect(() => expectClose(tf.tensor([1, NaN]), tf.tensor([1, 2]))).toThrow(/worst at \[1\]: actual NaN/);
    expect(() => expectClose(tf.tensor([1, 2]), tf.tensor([[1, 2]]))).toThrow(/shape \[2\] differs from expected \[1,2\]/);
  });
  it('relativeError and randomTensor', () => {
    expect(relativeError([1, 2, 2], [1, 2, 2])).toBe(0);
    expect(relativeError([0, 0, 3], [0, 0, 4])).toBeCloseTo(0.25);
    const t = randomTensor([3, 4], 1, { dtype: 'int32', min: 0, max: 7 });
    expect(t.dtype).toBe('int32');
    for (const v of t.dataSync()) expect(v >= 0 && v < 7).toBe(true);
    expect(Array.from(randomTensor([5], 2).dataSync())).toEqual(Array.from(randomTensor([5], 2).dataSync()));
  });
  it('backendsUnderTest reads FALCON_TEST_BACKENDS', () => {
    const old = process.env.FALCON_TEST_BACKENDS;
    process.env.FALCON_TEST_BACKENDS = 'cpu, webgpu';
    expect(backendsUnderTest()).toEqual(['cpu', 'webgpu']);
    process.env.FALCON_TEST_BACKENDS = 'tpu';
    expect(() => backendsUnderTest()).toThrow(/unknown backend 'tpu'/);
    if (old === undefined) delete process.env.FALCON_TEST_BACKENDS;
    else process.env.FALCON_TEST_BACKENDS = old;
  });
});

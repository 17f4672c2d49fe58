// RoPE: ropeFrequencies against transformers 5.17 (test/fixtures/rope_transformers.json, made by
// make_rope_fixture.py on the lent GPU machine) for default θ=1e11 (Falcon-H1), linear, llama3,
// yarn and dynamic; applyRope against transformers' rotated q, the CPU kernel against the
// reference forward and backward, explicit positions against the whole sequence, bad input.
import { readFileSync } from 'node:fs';
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, expectClose, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RopeParameters } from '../src/index.js';
import { applyRope, ropeFrequencies } from '../src/index.js';
import { applyRopeReference } from '../src/reference/apply_rope.js';
import { webgpuErrors } from './helpers.js';

interface FixtureCase {
  rope_parameters: RopeParameters;
  head_dim: number;
  max_position_embeddings: number;
  positions: number[];
  inv_freq: number[];
  attention_scaling: number;
  q: number[][][]; // [heads, positions, headDim]
  q_embed: number[][][];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/rope_transformers.json', import.meta.url), 'utf8')) as { cases: Record<string, FixtureCase> };

const freqsOf = (c: FixtureCase) =>
  ropeFrequencies(c.rope_parameters, c.head_dim, { maxPositionEmbeddings: c.max_position_embeddings, seqLen: Math.max(...c.positions) + 1 });

describe('ropeFrequencies matches transformers 5.17', () => {
  it.each(Object.keys(fixture.cases))('%s', (name) => {
    const c = fixture.cases[name];
    const f = freqsOf(c);
    expect(f.rotaryDim).toBe(c.head_dim);
    // both float32: pow/divide may round differently by one ulp (6e-8 relative)
    expectClose(f.invFreq, c.inv_freq, { rtol: 2.5e-7, atol: 0, name: `${name} inv_freq` });
    expect(f.attentionScaling).toBeCloseTo(c.attention_scaling, 12);
  });

  it('partial_rotary_factor rotates a leading part of the head', () => {
    const f = ropeFrequencies({ rope_theta: 10000, partial_rotary_factor: 0.5 }, 64);
    expect(f.rotaryDim).toBe(32);
    expectClose(f.invFreq, ropeFrequencies({ rope_theta: 10000 }, 32).invFreq, { rtol: 0, atol: 0, name: 'same as a 32-dim head' });
  });

  it.each([
    [{ rope_type: 'ntk', rope_theta: 1e4 }, /ropeFrequencies: unknown rope_type 'ntk' \(supported: default, linear, dynamic, yarn, llama3\)/],
    [{ rope_type: 'linear', rope_theta: 1e4 }, /ropeFrequencies: rope_type 'linear' needs a finite number 'factor', got undefined/],
    [{ rope_type: 'llama3', rope_theta: 1e4, factor: 8 }, /rope_type 'llama3' needs a finite number 'low_freq_factor'/],
    [{ rope_type: 'dynamic', rope_theta: 1e4, factor: 2 }, /rope_type 'dynamic' needs options.maxPositionEmbeddings/],
    [{ rope_theta: 0.5 }, /ropeFrequencies: rope_theta must be a finite number > 1, got 0.5/],
    [{ rope_theta: 1e4, partial_rotary_factor: 0.3 }, /the rotary dim \(headDim·partial_rotary_factor = 19\) must be even/],
  ] as [RopeParameters, RegExp][])('rejects %j', (params, message) => {
    expect(() => ropeFrequencies(params, 64)).toThrow(message);
  });
});

describe.each(backendsUnderTest())('applyRope on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await webgpuErrors()).toEqual([]); // WGSL errors make kernels return zeros
  });

  it.each(Object.keys(fixture.cases))('rotates q as transformers does: %s', async (name) => {
    const c = fixture.cases[name];
    const q = tf.transpose(tf.expandDims(tf.tensor(c.q), 0), [0, 2, 1, 3]); // [1, positions, heads, headDim]
    const want = tf.transpose(tf.expandDims(tf.tensor(c.q_embed), 0), [0, 2, 1, 3]);
    const got = applyRope(q, tf.tensor1d(c.positions, 'int32'), freqsOf(c));
    // same float32 angle (one rounded product, positions up to 1e6), cos/sin of it within an ulp
    // or two of torch's (the WebGPU kernel reduces the angle itself), then two float32 products and
    // a sum of O(1) values: a few 1e-7 absolute
    await expectCloseAsync(got, want, { rtol: 1e-6, atol: 1e-6, name });
  });

  const shapes: [string, number[], number, number][] = [
    ['full rotation, head dim 10', [2, 13, 3, 10], 10, 1],
    ['partial rotation 6 of 10, scaled cos/sin', [2, 13, 3, 10], 6, 1.1386],
    ['one token, head dim 128, theta 1e11', [1, 1, 8, 128], 128, 1],
  ];
  it.each(shapes)('kernel matches the reference forward and backward: %s', async (_n, shape, rotaryDim, scaling) => {
    {
      const [b, l] = shape;
      const x = randomTensor(shape, 3);
      // on webgpu the reference runs WGSL's built-in cos/sin, only specified on [−π, π]: small
      // positions there (the kernel's own accuracy at large angles is checked against transformers above)
      const positions = randomTensor([b, l], 4, { dtype: 'int32', min: 0, max: backend === 'webgpu' ? 4 : 200000 });
      const base = ropeFrequencies({ rope_theta: shape[3] === 128 ? 1e11 : 10000 }, rotaryDim);
      const freqs = { ...base, attentionScaling: scaling };
      const attrs = { invFreq: Array.from(base.invFreq), attentionScaling: scaling, inverse: false };
      // elementwise float32 with the same rounded angle: within a couple of ulps. On webgpu the
      // reference's cos/sin are WGSL built-ins, which the WGSL spec only holds to 2⁻¹¹ absolute
      // (SwiftShader: ≈ 9e-4 seen); the kernel's own sin/cos match transformers to 1e-6 above.
      const tol = backend === 'webgpu' ? 2e-3 : 1e-6;
      await expectCloseAsync(applyRope(x, positions, freqs), applyRopeReference(x, positions, attrs), { rtol: tol, atol: tol, name: 'y' });
      const w = randomTensor(shape, 5);
      const [got] = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(applyRope(xx, positions, freqs), w)) as tf.Scalar)([x]);
      const [want] = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(applyRopeReference(xx, positions, attrs), w)) as tf.Scalar)([x]);
      await expectCloseAsync(got, want, { rtol: tol, atol: tol, name: 'dx' }); // the inverse rotation: same error budget
    }
  });

  it('explicit positions equal the slice of the whole sequence (decode), and per-row positions (packing)', async () => {
    {
      const f = ropeFrequencies({ rope_theta: 1e11 }, 16);
      const x = randomTensor([2, 40, 2, 16], 6);
      const whole = applyRope(x, tf.range(0, 40, 1, 'int32'), f);
      for (const [t, n] of [
        [0, 1],
        [17, 1],
        [25, 15],
      ]) {
        const part = applyRope(tf.slice(x, [0, t], [2, n]), tf.range(t, t + n, 1, 'int32'), f);
        await expectCloseAsync(part, tf.slice(whole, [0, t], [2, n]), { rtol: 0, atol: 0, name: `tokens ${t}…${t + n - 1}` }); // same arithmetic
      }
      // two packed sequences of 15 and 25 tokens, positions restarting at 0
      const packedPos = tf.concat([tf.range(0, 15, 1, 'int32'), tf.range(0, 25, 1, 'int32')]);
      const packed = applyRope(x, tf.stack([packedPos, packedPos]), f);
      const second = applyRope(tf.slice(x, [0, 15], [2, 25]), tf.range(0, 25, 1, 'int32'), f);
      await expectCloseAsync(tf.slice(packed, [0, 15], [2, 25]), second, { rtol: 0, atol: 0, name: 'second packed sequence' });
    }
  });

  it.each([
    ['float positions', () => applyRope(tf.zeros([1, 4, 2, 8]), tf.zeros([4]), ropeFrequencies({ rope_theta: 1e4 }, 8)), /applyRope: positions must be int32, got float32/],
    ['positions shape', () => applyRope(tf.zeros([1, 4, 2, 8]), tf.zeros([5], 'int32'), ropeFrequencies({ rope_theta: 1e4 }, 8)), /applyRope: positions has shape \[5\], expected \[4\] \(\[seqlen\]\) or \[1,4\]/],
    ['rank', () => applyRope(tf.zeros([4, 2, 8]), tf.zeros([4], 'int32'), ropeFrequencies({ rope_theta: 1e4 }, 8)), /applyRope: x must have rank 4 \[batch, seqlen, heads, headDim\]/],
    ['rotary dim > head dim', () => applyRope(tf.zeros([1, 4, 2, 8]), tf.zeros([4], 'int32'), ropeFrequencies({ rope_theta: 1e4 }, 16)), /applyRope: the rotary dim \(2 × 8 frequencies\) must be between 2 and headDim 8/],
  ])('bad input: %s', (_n, f, message) => {
    expect(f).toThrow(message);
  });
});

// gatedRmsNorm: the CPU kernel against the reference (transformers' FalconH1RMSNormGated written
// in tfjs ops), forward and gradients of x, weight and z, gate before/after, ngroups 1 and > 1;
// bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatedRmsNorm, gatedRmsNormReference } from '../src/index.js';
import { expectNear, weightedSum } from './helpers.js';

// A group of ≤ 12 features: the mean square sums ≤ 12 float32 terms (reference) vs float64
// (kernel), then a handful of roundings: ~1e-7 relative; 1e-5 forward, 3e-5 backward
// (dweight sums over rows) keep a 100× margin.
const FWD = 1e-5;
const BWD = 3e-5;

const CASES = [
  { name: 'gate after the norm, ngroups 3, [2, 5, 12]', shape: [2, 5, 12], ngroups: 3, normBeforeGate: true, gate: true },
  { name: 'gate before the norm, ngroups 2, [3, 10]', shape: [3, 10], ngroups: 2, normBeforeGate: false, gate: true },
  { name: 'no gate, ngroups 1, [2, 3, 7]', shape: [2, 3, 7], ngroups: 1, normBeforeGate: true, gate: false },
];

describe.each(backendsUnderTest())('gatedRmsNorm on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(CASES)('forward and gradients match the reference: $name', async ({ shape, ngroups, normBeforeGate, gate }) => {
    {
      const dim = shape[shape.length - 1];
      const x = randomTensor(shape, 1);
      const w = randomTensor([dim], 2, { mean: 1, std: 0.3 });
      const z = randomTensor(shape, 3);
      const opts = (zz?: Tensor) => ({ z: gate ? zz : undefined, eps: 1e-5, ngroups, normBeforeGate });
      await expectNear(gatedRmsNorm(x, w, opts(z)), gatedRmsNormReference(x, w, opts(z)), FWD, 'y');
      const loss = (fn: typeof gatedRmsNorm) => (a: Tensor, b: Tensor, c: Tensor) => weightedSum([fn(a, b, opts(c))], 4);
      const xs = gate ? [x, w, z] : [x, w];
      const g1 = tf.grads(gate ? loss(gatedRmsNorm) : (a: Tensor, b: Tensor) => loss(gatedRmsNorm)(a, b, z))(xs);
      const g2 = tf.grads(gate ? loss(gatedRmsNormReference) : (a: Tensor, b: Tensor) => loss(gatedRmsNormReference)(a, b, z))(xs);
      for (const [i, n] of ['dx', 'dweight', 'dz'].slice(0, xs.length).entries()) await expectNear(g1[i], g2[i], BWD, n);
    }
  });

  it('rejects bad input with a clear error before any kernel runs', () => {
    const x = tf.zeros([2, 6]);
    expect(() => gatedRmsNorm(x, tf.zeros([5]))).toThrow(/gatedRmsNorm: argument 'weight' must have shape \[dim\] = \[6\], got \[5\]/);
    expect(() => gatedRmsNorm(x, tf.zeros([6]), { ngroups: 4 })).toThrow(/gatedRmsNorm: dim \(6\) must be divisible by ngroups \(4\)/);
    expect(() => gatedRmsNorm(x, tf.zeros([6]), { ngroups: 0 })).toThrow(/gatedRmsNorm: ngroups must be a positive integer, got 0/);
    expect(() => gatedRmsNorm(x, tf.zeros([6]), { z: tf.zeros([2, 5]) })).toThrow(/gatedRmsNorm: argument 'z' must have shape .*got \[2, 5\]/);
    expect(() => gatedRmsNorm(tf.zeros([2, 6], 'int32'), tf.zeros([6]))).toThrow(/gatedRmsNorm: argument 'x' must be float32, got int32/);
    expect(() => gatedRmsNorm(x, tf.zeros([6]), { eps: -1 })).toThrow(/gatedRmsNorm: eps must be a non-negative number, got -1/);
  });
});

// causalConv1d: the CPU kernel against the reference (forward and the gradients of x, weight,
// bias and the initial state) with and without bias, SiLU, initial state and seqIdx; pieces with
// carried state equal one pass; bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { causalConv1d, causalConv1dReference } from '../src/index.js';
import type { CausalConv1dOptions } from '../src/index.js';
import { expectNear, weightedSum } from './helpers.js';

// Each output sums dconv + 1 ≤ 5 float32 products (reference, rounding at 2^-24 per op) vs float64
// rounded once (kernel): ~1e-7 of the scale; gradients sum batch·seqlen terms (weight, bias).
// 1e-5 forward and 3e-5 backward keep a 100× margin.
const FWD = 1e-5;
const BWD = 3e-5;

interface ConvCase {
  name: string;
  b: number;
  l: number;
  d: number;
  k: number;
  bias: boolean;
  silu: boolean;
  init: boolean;
  seqIdx: boolean;
}

const CASES: ConvCase[] = [
  { name: 'bias, SiLU, initial state, dconv 4', b: 2, l: 7, d: 5, k: 4, bias: true, silu: true, init: true, seqIdx: false },
  { name: 'no bias, no activation, seqlen 2 < dconv − 1', b: 3, l: 2, d: 3, k: 4, bias: false, silu: false, init: false, seqIdx: false },
  { name: 'seqlen 2 < dconv − 1 with an initial state', b: 1, l: 2, d: 4, k: 4, bias: true, silu: false, init: true, seqIdx: false },
  { name: 'dconv 3, seqIdx, initial state, SiLU', b: 2, l: 9, d: 6, k: 3, bias: true, silu: true, init: true, seqIdx: true },
  { name: 'dconv 2, seqIdx without initial state', b: 2, l: 6, d: 3, k: 2, bias: false, silu: true, init: false, seqIdx: true },
];

function inputs(c: ConvCase, seed: number): { x: Tensor; w: Tensor; opts: CausalConv1dOptions } {
  const ids = new Int32Array(c.b * c.l);
  for (let i = 0; i < c.b; i++) for (let t = 0; t < c.l; t++) ids[i * c.l + t] = i === 0 ? (t >= 1 ? 1 : 0) + (t >= 3 ? 1 : 0) : t >= c.l - 2 ? 1 : 0;
  return {
    x: randomTensor([c.b, c.l, c.d], seed),
    w: randomTensor([c.d, c.k], seed + 1, { std: 0.5 }),
    opts: {
      bias: c.bias ? (randomTensor([c.d], seed + 2) as tf.Tensor1D) : undefined,
      initialState: c.init ? (randomTensor([c.b, c.k - 1, c.d], seed + 3) as tf.Tensor3D) : undefined,
      seqIdx: c.seqIdx ? (tf.tensor(ids, [c.b, c.l], 'int32') as tf.Tensor2D) : undefined,
      silu: c.silu,
      returnFinalState: true,
    },
  };
}

describe.each(backendsUnderTest())('causalConv1d on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(CASES)('forward and gradients match the reference: $name', async (c) => {
    {
      const { x, w, opts } = inputs(c, 5);
      const got = causalConv1d(x, w, opts);
      const want = causalConv1dReference(x, w, opts);
      await expectNear(got.y, want.y, FWD, 'y');
      await expectNear(got.finalState!, want.finalState!, 0, 'finalState'); // a copy of inputs: exact
      const names = ['x', 'weight', ...(c.bias ? ['bias'] : []), ...(c.init ? ['initialState'] : [])];
      const loss = (fn: typeof causalConv1d) => (...ts: Tensor[]) => {
        const o = { ...opts, bias: c.bias ? (ts[2] as tf.Tensor1D) : undefined, initialState: c.init ? (ts[names.indexOf('initialState')] as tf.Tensor3D) : undefined };
        const r = fn(ts[0], ts[1], o);
        return weightedSum([r.y, r.finalState!], 3);
      };
      const xs = [x, w, ...(c.bias ? [opts.bias!] : []), ...(c.init ? [opts.initialState!] : [])];
      const g1 = tf.grads(loss(causalConv1d))(xs);
      const g2 = tf.grads(loss(causalConv1dReference))(xs);
      for (const [i, n] of names.entries()) await expectNear(g1[i], g2[i], BWD, `d${n}`);
    }
  });

  it('pieces with the state carried between them equal one pass', async () => {
    {
      const [b, l, d, k] = [2, 10, 4, 4];
      const x = randomTensor([b, l, d], 9);
      const w = randomTensor([d, k], 10);
      const bias = randomTensor([d], 11) as tf.Tensor1D;
      const one = causalConv1d(x, w, { bias, silu: true, returnFinalState: true });
      let state: Tensor | undefined;
      const ys: Tensor[] = [];
      for (const [from, len] of [[0, 2], [2, 1], [3, 5], [8, 2]]) {
        const r = causalConv1d(tf.slice(x, [0, from, 0], [b, len, d]), w, { bias, silu: true, initialState: state, returnFinalState: true });
        state = r.finalState;
        ys.push(r.y);
      }
      await expectNear(tf.concat(ys, 1), one.y, 0, 'y'); // the same sums in the same order (float64 on cpu, float32 on webgpu): exact
      await expectNear(state!, one.finalState!, 0, 'finalState');
    }
  });

  it('rejects bad input with a clear error before any kernel runs', () => {
    const x = tf.zeros([2, 5, 3]);
    const w = tf.zeros([3, 4]);
    expect(() => causalConv1d(x, tf.zeros([4, 4]))).toThrow(/causalConv1d: argument 'weight' must have shape \[dim, dconv\] = \[3, \?\], got \[4, 4\] \(dim is 4, expected 3\)/);
    expect(() => causalConv1d(x, tf.zeros([3, 1]))).toThrow(/causalConv1d: dconv \(weight.shape\[1\]\) must be at least 2, got 1/);
    expect(() => causalConv1d(tf.zeros([2, 5]), w)).toThrow(/causalConv1d: argument 'x' must have rank 3 \[batch, seqlen, dim\], got shape \[2, 5\]/);
    expect(() => causalConv1d(x, w, { initialState: tf.zeros([2, 4, 3]) as tf.Tensor3D })).toThrow(/causalConv1d: argument 'initialState' .*\(dconv - 1 is 4, expected 3\)/);
    expect(() => causalConv1d(x, w, { bias: tf.zeros([2]) as tf.Tensor1D })).toThrow(/causalConv1d: argument 'bias' .*\(dim is 2, expected 3\)/);
    expect(() => causalConv1d(tf.zeros([2, 5, 3], 'int32'), w)).toThrow(/causalConv1d: argument 'x' must be float32, got int32/);
    expect(() => causalConv1d(x, w, { seqIdx: tf.zeros([2, 5]) as tf.Tensor2D })).toThrow(/causalConv1d: argument 'seqIdx' must be int32, got float32/);
  });
});

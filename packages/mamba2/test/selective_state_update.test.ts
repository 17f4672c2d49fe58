// selectiveStateUpdate: the CPU kernel against the reference step, forward and backward; a chain of
// steps equals the scan over the same positions; bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectiveStateUpdate, selectiveStateUpdateReference, ssdChunkScan } from '../src/index.js';
import type { SelectiveStateUpdateOptions } from '../src/index.js';
import { expectNear, ssdCase, weightedSum } from './helpers.js';

// One step in float32 (reference) vs float64 rounded once (kernel): a handful of roundings of
// 2^-24 on sums of ≤ 5 terms; measured ~1e-7 of the scale, so 1e-5 (forward) and 3e-5 (backward,
// whose dA sums batch·headdim·dstate terms of mixed sign).
const FWD = 1e-5;
const BWD = 3e-5;

interface StepCase {
  state: Tensor;
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D: Tensor;
  z: Tensor;
  dtBias: Tensor;
}

// batch 3, nheads 6, ngroups 2 (3 heads per group), headdim 5, dstate 3
function stepCase(seed: number): StepCase {
  const [b, h, p, g, n] = [3, 6, 5, 2, 3];
  return {
    state: randomTensor([b, h, p, n], seed),
    x: randomTensor([b, h, p], seed + 1),
    dt: randomTensor([b, h], seed + 2),
    A: tf.neg(randomTensor([h], seed + 3, { distribution: 'uniform', min: 0.3, max: 2 })),
    B: randomTensor([b, g, n], seed + 4),
    C: randomTensor([b, g, n], seed + 5),
    D: randomTensor([h], seed + 6),
    z: randomTensor([b, h, p], seed + 7),
    dtBias: randomTensor([h], seed + 8, { distribution: 'uniform' }),
  };
}

const VARIANTS: { name: string; opts: (c: StepCase) => SelectiveStateUpdateOptions }[] = [
  { name: 'D, z, dtBias, softplus', opts: (c) => ({ D: c.D, z: c.z, dtBias: c.dtBias, dtSoftplus: true }) },
  { name: 'no optional input, raw dt', opts: () => ({}) },
  { name: 'dtLimit [0.3, 1.1], dtBias, softplus', opts: (c) => ({ dtBias: c.dtBias, dtSoftplus: true, dtLimit: [0.3, 1.1] }) },
];

describe.each(backendsUnderTest())('selectiveStateUpdate on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(VARIANTS)('forward and gradients match the reference: $name', async ({ opts }) => {
    {
      const c = stepCase(7);
      const o = opts(c);
      const got = selectiveStateUpdate(c.state, c.x, c.dt, c.A, c.B, c.C, o);
      const want = selectiveStateUpdateReference(c.state, c.x, c.dt, c.A, c.B, c.C, o);
      await expectNear(got.y, want.y, FWD, 'y');
      await expectNear(got.state, want.state, FWD, 'state');
      const names = ['state', 'x', 'dt', 'A', 'B', 'C', ...(o.D ? ['D'] : []), ...(o.z ? ['z'] : []), ...(o.dtBias ? ['dtBias'] : [])] as (keyof StepCase)[];
      const loss = (fn: typeof selectiveStateUpdate) => (...ts: Tensor[]) => {
        const cc = { ...c };
        names.forEach((k, i) => (cc[k] = ts[i]));
        const oo = opts(cc);
        const r = fn(cc.state, cc.x, cc.dt, cc.A, cc.B, cc.C, oo);
        return weightedSum([r.y, r.state], 9);
      };
      const xs = names.map((k) => c[k]);
      const g1 = tf.grads(loss(selectiveStateUpdate))(xs);
      const g2 = tf.grads(loss(selectiveStateUpdateReference))(xs);
      for (const [i, k] of names.entries()) await expectNear(g1[i], g2[i], BWD, `d${k}`);
    }
  });

  it('a chain of steps equals the scan over the same positions', async () => {
    {
      const s = { b: 2, l: 6, h: 4, p: 3, g: 2, n: 4 };
      const c = ssdCase(17, s, { D: true, z: true, dtBias: true, init: true });
      const scan = ssdChunkScan(c.x, c.dt, c.A, c.B, c.C, { D: c.D, z: c.z, dtBias: c.dtBias, initialStates: c.initialStates, dtSoftplus: true, chunkSize: 4, returnFinalStates: true });
      let state = c.initialStates!;
      const ys: Tensor[] = [];
      const at = (t: Tensor, i: number) => tf.squeeze(tf.slice(t, [0, i], [t.shape[0], 1]), [1]);
      for (let i = 0; i < s.l; i++) {
        const r = selectiveStateUpdate(state, at(c.x, i), at(c.dt, i), c.A, at(c.B, i), at(c.C, i), { D: c.D, z: at(c.z!, i), dtBias: c.dtBias, dtSoftplus: true });
        state = r.state;
        ys.push(r.y);
      }
      // both compute in float64; the steps round the carried state to float32 at every position
      await expectNear(tf.stack(ys, 1), scan.y, 1e-5, 'y');
      await expectNear(state, scan.finalStates!, 1e-5, 'state');
    }
  });

  it('rejects bad input with a clear error before any kernel runs', () => {
    const c = stepCase(3);
    const call = (over: Partial<StepCase>, o: SelectiveStateUpdateOptions = {}) => () => {
      const cc = { ...c, ...over };
      selectiveStateUpdate(cc.state, cc.x, cc.dt, cc.A, cc.B, cc.C, o);
    };
    expect(call({ state: tf.zeros([3, 6, 5, 4]) })).toThrow(/selectiveStateUpdate: argument 'state' must have shape \[batch, nheads, headdim, dstate\] = \[3, 6, 5, 3\], got \[3, 6, 5, 4\]/);
    expect(call({ B: tf.zeros([3, 4, 3]), C: tf.zeros([3, 4, 3]) })).toThrow(/selectiveStateUpdate: nheads \(6\) must be divisible by ngroups \(4\)/);
    expect(call({ x: tf.zeros([3, 1, 6, 5]) })).toThrow(/selectiveStateUpdate: argument 'x' must have rank 3 \[batch, nheads, headdim\]/);
    expect(call({ dt: tf.zeros([3, 6], 'int32') })).toThrow(/selectiveStateUpdate: argument 'dt' must be float32, got int32/);
    expect(call({}, { z: tf.zeros([3, 6, 4]) as never })).toThrow(/selectiveStateUpdate: argument 'z' .*\(headdim is 4, expected 5\)/);
  });
});

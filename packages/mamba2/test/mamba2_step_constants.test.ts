// The decode step keeps the tensors it derives from parameters (the conv weight reshaped, A =
// −exp(A_log)) between steps (issue 17: fewer kernels per step): a step after the parameters are
// assigned new values uses the new values (the kept tensors follow the data), equal to a fresh
// mixer loaded with them; a gradient through the step still reaches A_log and the conv weight.
import { initBackend, recordKernels, tf } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { Mamba2Mixer } from '../src/index.js';
import type { Mamba2MixerOptions } from '../src/index.js';

const OPTS: Mamba2MixerOptions = { dModel: 10, nHeads: 4, headDim: 3, nGroups: 2, dState: 5, dConv: 4, chunkSize: 5, rmsNorm: false, initializerRange: 0.3 };

describe.each(backendsUnderTest())('%s', (backend) => {
  beforeAll(() => initBackend(backend));

  it('a step after assign uses the new A_log and conv weight (equal to a fresh mixer with them)', async () => {
    const a = new Mamba2Mixer({ ...OPTS, seed: 1 });
    const fresh = new Mamba2Mixer({ ...OPTS, seed: 2 });
    const u = randomTensor([3, 10], 5);
    const first = a.step(u, a.emptyCache(3)); // keeps seed-1's derived tensors
    const p = a.parameters();
    const q = fresh.parameters();
    p.A_log.assign(q.A_log);
    p['conv1d.weight'].assign(q['conv1d.weight']);
    for (const k of Object.keys(p)) if (k !== 'A_log' && k !== 'conv1d.weight') p[k].assign(q[k]);
    const got = a.step(u, fresh.emptyCache(3));
    const want = fresh.step(u, fresh.emptyCache(3));
    // the same kernels on the same values: equal to the bit
    expect(Array.from(await got.output.data())).toEqual(Array.from(await want.output.data()));
    expect(Array.from(await got.cache.ssmState.data())).toEqual(Array.from(await want.cache.ssmState.data()));
    expect(Array.from(await got.output.data())).not.toEqual(Array.from(await first.output.data()));
    tf.dispose([u, first.output, first.cache.convState, first.cache.ssmState, got.output, got.cache.convState, got.cache.ssmState, want.output, want.cache.convState, want.cache.ssmState]);
    a.dispose();
    fresh.dispose();
  });

  it('the second step runs no Exp/Neg for A (kept); a gradient through a step reaches A_log and conv1d.weight', async () => {
    const m = new Mamba2Mixer({ ...OPTS, seed: 3 });
    const u = randomTensor([2, 10], 6);
    const s1 = m.step(u, m.emptyCache(2));
    const { result: s2, kernels } = recordKernels(() => m.step(u, m.emptyCache(2)));
    expect(kernels.filter((k) => k === 'Exp' || k === 'Neg').length).toBe(0);
    const p = m.parameters();
    const { grads } = tf.variableGrads(() => tf.sum(m.step(u, m.emptyCache(2)).output) as tf.Scalar, [p.A_log, p['conv1d.weight']]);
    // a zero state and one token: A reaches the output through the decay of the (zero) state only, so its
    // gradient is exactly 0 here; the conv weight's is not. Both must exist (on the tape).
    expect(grads[p.A_log.name]).toBeDefined();
    expect(Math.abs((await tf.sum(tf.abs(grads[p['conv1d.weight'].name])).data())[0])).toBeGreaterThan(0);
    tf.dispose([u, s1.output, s1.cache.convState, s1.cache.ssmState, s2.output, s2.cache.convState, s2.cache.ssmState, ...Object.values(grads)]);
    m.dispose();
  });
});

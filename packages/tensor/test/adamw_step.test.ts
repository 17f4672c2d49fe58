// adamwStep (the fused AdamW update) on every backend under test: p', m', v' against the tfjs-ops
// reference (the form hybrid's AdamW used before) on seeded inputs of awkward sizes, with and
// without a clip coefficient and weight decay, early and late steps, several steps in a row, the
// inputs left unchanged, empty parameters, and bad input rejected naming the argument.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adamwStep, adamwStepReference, initBackend, OpArgumentError, takeWebgpuErrors, tf } from '../src/index.js';
import type { AdamwStepAttrs } from '../src/index.js';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '../src/testing/index.js';

// The cpu kernel rounds every operation to float32 in the reference's order, so it must equal the
// reference exactly. Other backends may contract a·b + c into an FMA and use their own sqrt and
// division (WGSL guarantees neither correct rounding): a few ulp on each of ~10 operations, ≲ 1e-6
// relative on m', v' and on the update; p' = p·decay − update with |update| ≤ lr·O(1) ≪ |p|, so its
// error is ≲ 1e-6 relative too. rtol 2e-6 is that bound; atol 1e-8 only serves elements near 0.
const TOL = { rtol: 2e-6, atol: 1e-8 };

const BASE: AdamwStepAttrs = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 };

// [shape, attribute changes, clip coefficient (undefined: none)]
const CASES: [number[], Partial<AdamwStepAttrs>, number | undefined][] = [
  [[1], {}, undefined],
  [[7], { weightDecay: 0 }, 0.37],
  [[33, 65], { step: 7 }, 1],
  [[3, 5, 7], { step: 1000, lr: 1e-2 }, 0.05],
  [[1000], { beta1: 0, beta2: 0.999, eps: 1e-6 }, undefined],
  [[257, 3], { lr: 0 }, 0.5],
];

const exact = (backend: string) => backend === 'cpu';

async function expectSame(backend: string, a: tf.Tensor, e: tf.Tensor, name: string): Promise<void> {
  if (exact(backend)) expect(Array.from(await a.data()), name).toEqual(Array.from(await e.data()));
  else await expectCloseAsync(a, e, { ...TOL, name });
}

describe.each(backendsUnderTest())('adamwStep on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(CASES)('matches the reference: shape [%s], %o, clip %s', async (shape, change, clip) => {
    const attrs = { ...BASE, ...change };
    const p = randomTensor(shape, 1);
    const g = randomTensor(shape, 2, { std: 0.3 });
    const m = randomTensor(shape, 3, { std: 0.1 });
    const v = tf.abs(randomTensor(shape, 4, { std: 0.01 }));
    const scale = clip === undefined ? undefined : tf.scalar(clip);
    const before = await Promise.all([p, g, m, v].map((t) => t.data()));
    const out = adamwStep({ param: p, grad: g, m, v, gradScale: scale }, attrs);
    const ref = adamwStepReference(p, g, m, v, attrs, scale);
    for (const k of ['param', 'm', 'v'] as const) {
      expect(out[k].shape).toEqual(shape);
      await expectSame(backend, out[k], ref[k], k);
    }
    // the inputs are unchanged
    const after = await Promise.all([p, g, m, v].map((t) => t.data()));
    after.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(before[i])));
  });

  it('ten steps in a row follow the reference', async () => {
    const shape = [17, 9];
    let p = randomTensor(shape, 5);
    let m = tf.zeros(shape);
    let v = tf.zeros(shape);
    let [rp, rm, rv] = [p, m, v];
    for (let t = 1; t <= 10; t++) {
      const g = randomTensor(shape, 100 + t);
      const scale = tf.scalar(t % 2 ? 1 : 0.25);
      const attrs = { ...BASE, step: t, lr: 1e-3 * t };
      ({ param: p, m, v } = adamwStep({ param: p, grad: g, m, v, gradScale: scale }, attrs));
      ({ param: rp, m: rm, v: rv } = adamwStepReference(rp, g, rm, rv, attrs, scale));
    }
    await expectSame(backend, p, rp, 'param');
    await expectSame(backend, m, rm, 'm');
    await expectSame(backend, v, rv, 'v');
  });

  it('an empty parameter gives empty outputs', async () => {
    const z = tf.zeros([0, 4]);
    const out = adamwStep({ param: z, grad: z, m: z, v: z }, BASE);
    expect(out.param.shape).toEqual([0, 4]);
    expect((await out.v.data()).length).toBe(0);
  });

  it('rejects bad input naming the argument', () => {
    const p = tf.zeros([3, 2]);
    const ok = { param: p, grad: p, m: p, v: p };
    expect(() => adamwStep({ ...ok, m: tf.zeros([2, 3]) }, BASE)).toThrow(/adamwStep: argument 'm' has shape \[2, 3\], expected param's shape \[3, 2\]/);
    expect(() => adamwStep({ ...ok, grad: tf.zeros([3, 2], 'int32') }, BASE)).toThrow(/argument 'grad' must be float32, got int32/);
    expect(() => adamwStep({ ...ok, gradScale: tf.zeros([2]) }, BASE)).toThrow(/argument 'gradScale' must hold one value/);
    expect(() => adamwStep(ok, { ...BASE, beta2: 1 })).toThrow(/attribute 'beta2'/);
    expect(() => adamwStep(ok, { ...BASE, step: 0 })).toThrow(/attribute 'step' must be a positive integer/);
    expect(() => adamwStep(ok, { ...BASE, lr: -1 })).toThrow(OpArgumentError);
    expect(() => adamwStep(ok, { ...BASE, eps: Number.NaN })).toThrow(/attribute 'eps'/);
  });
});

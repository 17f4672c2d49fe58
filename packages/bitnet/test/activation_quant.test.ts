// activationQuant / activationQuantInt8: every backend against the reference on awkward shapes
// and edge cases (one token, all-zero rows, a huge outlier, exact ties), an external absmax, the
// STE gradient, bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activationQuant, activationQuantInt8 } from '../src/index.js';
import { activationQuantInt8Reference, activationQuantReference } from '../src/reference/activation_quant.js';

const SHAPES: number[][] = [[1, 7], [3, 5, 33], [17], [2, 1], [4, 130]];

describe.each(backendsUnderTest())('activationQuant on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]); // a WGSL error makes a kernel return zeros instead of throwing
  });

  // max|x| is exact, and 127/max, x·s, round, q/s are single f32 operations in kernel and
  // reference; on the cpu they are correctly rounded (exact agreement); WGSL allows 2.5 ulp for a
  // division, so on webgpu scale and y may differ by that (3e-7 relative)
  const DIV = backend === 'cpu' ? 0 : 3e-7;
  const check = async (x: tf.Tensor, name: string) => {
    const got = activationQuant(x);
    const ref = activationQuantReference(x);
    await expectCloseAsync(got.scale, ref.scale, { rtol: DIV, atol: 0, name: `${name} scale` });
    await expectCloseAsync(got.y, ref.y, { rtol: 2 * DIV, atol: 0, name: `${name} y` });
    const int = activationQuantInt8(x);
    const intRef = activationQuantInt8Reference(x);
    expect(int.q.dtype).toBe('int32');
    expect(Array.from(await int.q.data())).toEqual(Array.from(await intRef.q.data())); // a flip needs x·s within 3e-7 of a tie
    await expectCloseAsync(int.scale, intRef.scale, { rtol: DIV, atol: 0, name: `${name} int8 scale` });
    tf.dispose([got.y, got.scale, ref.y, ref.scale, int.q, int.scale, intRef.q, intRef.scale]);
  };

  it.each(SHAPES)('matches the reference on random activations %j', async (...shape) => {
    await check(randomTensor(shape, 7 + shape.length, { std: 3 }), `[${shape}]`);
  });

  it('all-zero rows give scale 127/1e-5 and zeros; other rows are unaffected', async () => {
    const v = (await randomTensor([3, 9], 2).data()) as Float32Array;
    v.fill(0, 9, 18);
    const x = tf.tensor2d(v, [3, 9]);
    await check(x, 'zero row');
    const { q, scale } = activationQuantInt8(x);
    await expectCloseAsync(tf.slice(scale, [1, 0], [1, 1]), [Math.fround(127 / Math.fround(1e-5))], { rtol: DIV, atol: 0, name: 'zero-row scale' });
    expect(Array.from((await q.data()).slice(9, 18))).toEqual(new Array(9).fill(0));
  });

  it('a huge outlier maps to ±127 and squeezes the rest of its token', async () => {
    const v = (await randomTensor([2, 40], 5).data()) as Float32Array;
    v[3] = -3e7;
    const x = tf.tensor2d(v, [2, 40]);
    await check(x, 'outlier');
    const q = await activationQuantInt8(x).q.data();
    expect(q[3]).toBe(-127);
    expect(Array.from(q.slice(0, 40)).filter((a) => a !== 0)).toEqual([-127]);
  });

  it('rounds ties half to even, as torch.round', async () => {
    // max|x| = 127 → s_x = 1, so x·s_x = x exactly
    const x = tf.tensor2d([[127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5]]);
    expect(Array.from(await activationQuantInt8(x).q.data())).toEqual([127, 0, 2, 2, 0, -2, -2, 126]);
    await check(x, 'ties');
  });

  it('uses an external absMax (a row-parallel shard) for its scale', async () => {
    const x = randomTensor([3, 20], 4);
    const absMax = tf.max(tf.abs(x), -1, true);
    const whole = activationQuant(x).y;
    const shard = activationQuant(tf.slice(x, [0, 5], [3, 9]), { absMax });
    await expectCloseAsync(shard.y, tf.slice(whole, [0, 5], [3, 9]), { rtol: 0, atol: 0, name: 'shard' }); // same f32 operations: exact
    const ref = activationQuantReference(tf.slice(x, [0, 5], [3, 9]), absMax);
    await expectCloseAsync(shard.y, ref.y, { rtol: 2 * DIV, atol: 0, name: 'shard vs reference' });
  });

  it('no tokens: empty outputs of the right shapes', async () => {
    const a = activationQuant(tf.zeros([0, 5]));
    const b = activationQuantInt8(tf.zeros([2, 0, 5]));
    expect([a.y.shape, a.scale.shape, b.q.shape, b.scale.shape]).toEqual([[0, 5], [0, 1], [2, 0, 5], [2, 0, 1]]);
    expect((await a.y.data()).length + (await b.q.data()).length).toBe(0);
  });

  it('the gradient is the straight-through estimator: dx = dy', async () => {
    const x = randomTensor([3, 5, 33], 21);
    const g = randomTensor([3, 5, 33], 22);
    const loss = (fn: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => tf.sum(tf.mul(fn(x), g)) as tf.Scalar;
    const [got] = tf.grads(loss((t) => activationQuant(t).y))([x]);
    const [want] = tf.grads(loss((t) => activationQuantReference(t).y))([x]);
    await expectCloseAsync(got, g, { rtol: 0, atol: 0, name: 'dx = dy' }); // identity: exact
    await expectCloseAsync(got, want, { rtol: 0, atol: 0, name: 'dx vs reference' });
  });

  it('rejects bad input before any kernel runs, naming the argument', () => {
    expect(() => activationQuant(tf.zeros([2, 3], 'int32'))).toThrow(/activationQuant: argument 'x' must be float32, got int32/);
    expect(() => activationQuant(tf.scalar(1))).toThrow(/activationQuant: argument 'x' must have rank ≥ 1/);
    expect(() => activationQuantInt8(tf.zeros([2, 0]))).toThrow(/activationQuantInt8: argument 'x' has an empty last dimension/);
    expect(() => activationQuant(tf.zeros([2, 3]), { absMax: tf.zeros([2]) })).toThrow(/activationQuant: argument 'absMax' must be float32 \[2, 1\] \(one value per token\), got float32 \[2\]/);
  });
});

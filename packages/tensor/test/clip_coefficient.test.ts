// clipCoefficient: min(1, maxNorm / (norm + 1e-6)) on every backend under test, for norms above and
// below maxNorm, a [1]-shaped norm, and bad input named before anything runs.
import { beforeAll, describe, expect, it } from 'vitest';
import { clipCoefficient, initBackend, OpArgumentError, tf } from '../src/index.js';
import { backendsUnderTest } from '../src/testing/index.js';

const f = Math.fround;

describe.each(backendsUnderTest())('clipCoefficient on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('is maxNorm / (norm + 1e-6) above maxNorm and 1 below it (float32)', async () => {
    // float32 throughout: (norm + 1e-6) and the division each rounded once
    expect(Array.from(await clipCoefficient(tf.scalar(5), 1).data())).toEqual([f(1 / f(5 + f(1e-6)))]);
    expect(Array.from(await clipCoefficient(tf.scalar(0.25), 1).data())).toEqual([1]);
    expect(Array.from(await clipCoefficient(tf.scalar(0), 0.5).data())).toEqual([1]);
    const c = clipCoefficient(tf.tensor1d([3]), 2);
    expect(c.shape).toEqual([1]);
    expect(Array.from(await c.data())).toEqual([f(2 / f(3 + f(1e-6)))]);
  });

  it('rejects bad input naming the argument', () => {
    expect(() => clipCoefficient(tf.tensor1d([1, 2]), 1)).toThrow(/clipCoefficient: argument 'norm' must hold one value/);
    expect(() => clipCoefficient(tf.scalar(1, 'int32'), 1)).toThrow(/argument 'norm' must be float32/);
    expect(() => clipCoefficient(tf.scalar(1), 0)).toThrow(OpArgumentError);
    expect(() => clipCoefficient(tf.scalar(1), Number.POSITIVE_INFINITY)).toThrow(/argument 'maxNorm'/);
  });
});

// recordKernels: the registered kernels a function dispatches, in order (a customGrad scope is not
// one, the kernels inside it are), nested recordings, mark() for splitting a log, and the engine put
// back as it was when the function throws.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, recordKernels, tf } from '../src/index.js';

describe('recordKernels (cpu)', () => {
  beforeAll(() => initBackend('cpu'));

  it('records the kernels in order, with mark() counts, and the result', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const { result, kernels } = recordKernels((mark) => {
      const a = tf.add(x, x);
      const at = mark();
      const b = tf.reshape(tf.neg(a), [3, 1]);
      return { at, b };
    });
    expect(kernels).toEqual(['Add', 'Neg', 'Reshape']);
    expect(result.at).toBe(1);
    expect(Array.from(result.b.dataSync())).toEqual([-2, 4, -6]);
    tf.dispose([x, result.b]);
  });

  it('a customGrad scope is not counted, its kernels are; nested recordings see their own part', () => {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.exp(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => dy }));
    const x = tf.scalar(0.5);
    let inner: string[] = [];
    const { kernels } = recordKernels(() => {
      tf.dispose(tf.sqrt(x));
      inner = recordKernels(() => tf.dispose(f(x))).kernels;
      tf.dispose(tf.abs(x));
    });
    expect(inner).toEqual(['Exp']);
    expect(kernels).toEqual(['Sqrt', 'Exp', 'Abs']);
    x.dispose();
  });

  it('puts the engine back when f throws', () => {
    const engine = tf.engine() as unknown as { runKernelFunc: unknown };
    const before = engine.runKernelFunc;
    expect(() =>
      recordKernels(() => {
        expect(engine.runKernelFunc).not.toBe(before); // hooked while f runs
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(engine.runKernelFunc).toBe(before);
    expect(Object.prototype.hasOwnProperty.call(engine, 'runKernelFunc')).toBe(false);
  });
});

// defineOp: kernels per backend, optional inputs, validation before kernels, gradients through tfjs autodiff.
import { describe, expect, it } from 'vitest';
import { compositeKernel, defineOp, hostKernel, MissingKernelError, tf } from '../src/index.js';
import { expectClose, randomTensor } from '../src/testing/index.js';

// y = a * x + b (b optional), with a host (typed-array) cpu kernel and a composite kernel kept for comparison.
const axpbHost = hostKernel<'x' | 'a', 'b', { scale: number }, 'y' | 'sum'>(({ x, a, b }, { scale }) => {
  const y = new Float32Array(x.values.length);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    y[i] = scale * (a.values[i] * x.values[i] + (b ? b.values[i] : 0));
    sum += y[i];
  }
  return { y: { values: y, shape: x.shape, dtype: 'float32' }, sum: { values: new Float32Array([sum]), shape: [], dtype: 'float32' } };
});

const axpb = defineOp<'x' | 'a', 'b', { scale: number }, 'y' | 'sum'>({
  name: 'TestAxpb',
  inputs: ['x', 'a'],
  optionalInputs: ['b'],
  outputs: ['y', 'sum'],
  validate: ({ x, a, b }) => {
    if (!tf.util.arraysEqual(x.shape, a.shape)) throw new Error(`TestAxpb: a has shape [${a.shape}], expected [${x.shape}]`);
    if (b && !tf.util.arraysEqual(x.shape, b.shape)) throw new Error(`TestAxpb: b has shape [${b.shape}], expected [${x.shape}]`);
  },
  kernels: { cpu: axpbHost },
  grad: ({ dy, inputs: { x, a, b }, attrs: { scale } }) => {
    // d/dx = scale·a·(dy + dsum), d/da = scale·x·(dy + dsum), d/db = scale·(dy + dsum)
    const g = tf.mul(scale, tf.add(dy.y, dy.sum));
    return { x: tf.mul(g, a), a: tf.mul(g, x), ...(b ? { b: g } : {}) };
  },
});

const reference = (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor | undefined, scale: number) => {
  const y = tf.mul(scale, b ? tf.add(tf.mul(a, x), b) : tf.mul(a, x));
  return { y, sum: tf.sum(y) };
};

describe('defineOp', () => {
  it('runs the cpu kernel with and without the optional input', () => {
    const x = randomTensor([3, 5], 1);
    const a = randomTensor([3, 5], 2);
    const b = randomTensor([3, 5], 3);
    for (const bb of [undefined, b]) {
      const out = axpb({ x, a, b: bb }, { scale: 1.5 });
      const ref = reference(x, a, bb, 1.5);
      expectClose(out.y, ref.y, { rtol: 1e-6, name: 'y' }); // f32 elementwise: same operations
      expectClose(out.sum, ref.sum, { rtol: 1e-5, name: 'sum' }); // summation order differs
    }
  });

  it('differentiates through the registered gradient, with an unused output', () => {
    const x = randomTensor([4, 3], 4);
    const a = randomTensor([4, 3], 5);
    const b = randomTensor([4, 3], 6);
    const w = randomTensor([4, 3], 7);
    const loss = (fn: (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => { y: tf.Tensor; sum: tf.Tensor }) => (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(fn(xx, aa, bb).y, w)) as tf.Scalar;
    const got = tf.grads(loss((xx, aa, bb) => axpb({ x: xx, a: aa, b: bb }, { scale: 2 })))([x, a, b]);
    const want = tf.grads(loss((xx, aa, bb) => reference(xx, aa, bb, 2)))([x, a, b]);
    got.forEach((g, i) => expectClose(g, want[i], { rtol: 1e-6, name: `grad ${i}` }));
    // both outputs used
    const got2 = tf.grads((xx: tf.Tensor) => {
      const o = axpb({ x: xx, a, b }, { scale: 2 });
      return tf.add(tf.sum(tf.mul(o.y, w)), tf.mul(3, o.sum)) as tf.Scalar;
    })([x]);
    const want2 = tf.grads((xx: tf.Tensor) => {
      const o = reference(xx, a, b, 2);
      return tf.add(tf.sum(tf.mul(o.y, w)), tf.mul(3, o.sum)) as tf.Scalar;
    })([x]);
    expectClose(got2[0], want2[0], { rtol: 1e-5, name: 'grad with both outputs' });
  });

  it('validates before any kernel runs and names the problem', () => {
    const x = randomTensor([3, 5], 1);
    expect(() => axpb({ x, a: randomTensor([5, 3], 2) }, { scale: 1 })).toThrow(/a has shape \[5,3\], expected \[3,5\]/);
    expect(() => axpb({ x } as never, { scale: 1 })).toThrow(/input 'a' is required/);
    expect(() => axpb({ x, a: x, c: x } as never, { scale: 1 })).toThrow(/unknown input 'c'/);
  });

  it('throws a MissingKernelError naming the op and the backend', async () => {
    const onlyWebgpu = defineOp<'x', never, Record<string, never>, 'y'>({
      name: 'TestOnlyWebgpu',
      inputs: ['x'],
      outputs: ['y'],
      kernels: { webgpu: compositeKernel(({ x }) => ({ y: tf.neg(x) })) },
    });
    expect(onlyWebgpu.backends).toEqual(['webgpu']);
    let err: unknown;
    try {
      onlyWebgpu({ x: tf.ones([2]) }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingKernelError);
    expect(String(err)).toMatch(/op 'TestOnlyWebgpu' has no kernel for backend 'cpu' \(it has kernels for: webgpu\)/);
    onlyWebgpu.addKernel('cpu', compositeKernel(({ x }) => ({ y: tf.neg(x) })));
    expectClose(onlyWebgpu({ x: tf.ones([2]) }, {}).y, [-1, -1]);
  });

  it('composite kernels do not leak intermediate tensors', () => {
    const op = defineOp<'x', never, Record<string, never>, 'y'>({
      name: 'TestCompositeLeak',
      inputs: ['x'],
      outputs: ['y'],
      kernels: { cpu: compositeKernel(({ x }) => ({ y: tf.exp(tf.add(tf.mul(x, 2), 1)) })) },
    });
    const x = tf.ones([8]);
    const before = tf.memory().numTensors;
    const { y } = op({ x }, {});
    expect(tf.memory().numTensors).toBe(before + 1);
    expectClose(y, new Array(8).fill(Math.exp(3)), { rtol: 1e-6 });
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('defineOp optional inputs in gradients', () => {
  it('an absent optional input is undefined in the gradient function too', () => {
    let seen: unknown = 'not called';
    const op = defineOp<'x', 'b', Record<string, never>, 'y'>({
      name: 'TestOptionalInGrad',
      inputs: ['x'],
      optionalInputs: ['b'],
      outputs: ['y'],
      kernels: { cpu: compositeKernel(({ x, b }) => ({ y: b ? tf.add(x, b) : tf.mul(x, 2) })) },
      grad: ({ dy, inputs }) => {
        seen = inputs.b;
        return { x: inputs.b ? dy.y : tf.mul(dy.y, 2) };
      },
    });
    const [g] = tf.grads((x: tf.Tensor) => tf.sum(op({ x }, {}).y))([tf.ones([3])]);
    expect(seen).toBeUndefined();
    expectClose(g, [2, 2, 2]);
  });
});

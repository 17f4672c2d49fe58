// The Sum and Mean gradients of src/gradients.ts: same values as tfjs's own (dy spread over the
// reduced axes, divided by the count for Mean), without a host array of x's size.
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';

describe('Sum and Mean gradients', () => {
  const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i / 7), [2, 3, 4]);
  it('sum over one axis, keepDims, negative axis and all axes', () => {
    const dy = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, 2), dy)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3, 4, 5, 6].flatMap((v) => [v, v, v, v]));
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, -2, true), tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4]))))(x);
    expect(Array.from(g2.dataSync())).toEqual([0, 1].flatMap((b) => [0, 1, 2].flatMap(() => [1, 2, 3, 4].map((v) => v + 4 * b))));
    expect(Array.from(tf.grad((t: tf.Tensor) => tf.sum(t))(x).dataSync())).toEqual(new Array(24).fill(1));
  });
  it('empty inputs get empty gradients', () => {
    expect(tf.grad((t: tf.Tensor) => tf.sum(tf.sum(t, 1, true)))(tf.zeros([0, 8])).shape).toEqual([0, 8]);
    expect(tf.grad((t: tf.Tensor) => tf.sum(tf.max(t, 1, true)))(tf.zeros([0, 8])).shape).toEqual([0, 8]);
  });
  it('mean over two axes divides by their size', () => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 2]), tf.tensor1d([1, 2, 3]))))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 1].flatMap(() => [1, 2, 3].flatMap((v) => new Array(4).fill(v / 8))));
  });
  it('are the ones in use: dy is broadcast (Tile), not multiplied by a ones tensor', async () => {
    const big = tf.zeros([64, 1024]);
    for (const f of [(t: tf.Tensor) => tf.sum(t), (t: tf.Tensor) => tf.mean(t, 1)]) {
      const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(big));
      const names = info.kernels.map((k) => k.name);
      expect(names).toContain('Tile');
      expect(names).not.toContain('Multiply');
      tf.dispose(info.result as tf.Tensor);
    }
    big.dispose();
  });
});

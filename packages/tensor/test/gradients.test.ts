// The Sum and Mean gradients of src/gradients.ts: same values as tfjs's own (dy spread over the
// reduced axes, divided by the count for Mean), without a host array of x's size.
import { describe, expect, it } from 'vitest';
import { isRecordingGradients, tf } from '../src/index.js';

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

describe('Cumsum gradient', () => {
  it('equals the sum of dy over the positions each input reaches, on every axis, exclusive and reverse', () => {
    const x = tf.tensor3d(Array.from({ length: 27 }, (_, i) => Math.sin(i)), [3, 3, 3]);
    const dy = tf.tensor3d(Array.from({ length: 27 }, (_, i) => Math.cos(3 * i)), [3, 3, 3]);
    const d = dy.arraySync();
    for (const axis of [0, 1, 2]) {
      for (const exclusive of [false, true]) {
        for (const reverse of [false, true]) {
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(t, axis, exclusive, reverse), dy)))(x).arraySync() as number[][][];
          // out[j] sums x[i] over i ≤ j (i < j when exclusive; ≥ / > when reverse): dx[i] = Σ_j∋i dy[j]
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) {
            const idx = [a, b, c];
            let want = 0;
            for (let j = 0; j < 3; j++) {
              const i = idx[axis];
              const reaches = reverse ? (exclusive ? i > j : i >= j) : exclusive ? i < j : i <= j;
              const at = idx.slice();
              at[axis] = j;
              if (reaches) want += d[at[0]][at[1]][at[2]];
            }
            // float32 sums of 3 terms
            expect(Math.abs(g[a][b][c] - want), `axis ${axis} exclusive ${exclusive} reverse ${reverse} at ${idx}`).toBeLessThan(1e-6);
          }
        }
      }
    }
  });
});

describe('isRecordingGradients', () => {
  it('is true inside tf.grad and tf.variableGrads, false in a plain tidy', () => {
    const seen: boolean[] = [];
    const probe = (t: tf.Tensor) => {
      seen.push(isRecordingGradients());
      return tf.sum(tf.square(t));
    };
    const x = tf.tensor1d([1, 2, 3]);
    tf.tidy(() => probe(x));
    tf.grad(probe)(x);
    const v = tf.variable(x);
    tf.variableGrads(() => probe(v) as tf.Scalar, [v]);
    v.dispose();
    expect(seen).toEqual([false, true, true]);
  });
});

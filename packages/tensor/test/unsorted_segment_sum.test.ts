// The linear-time cpu UnsortedSegmentSum against a plain loop, and the gather gradient that uses it.
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { expectClose, randomTensor } from '../src/testing/index.js';

describe('UnsortedSegmentSum (cpu)', () => {
  it('sums rows into segments, dropping out-of-range ids', () => {
    const x = randomTensor([7, 3, 2], 1);
    const ids = tf.tensor1d([2, 0, 2, 5, -1, 1, 2], 'int32');
    const got = tf.unsortedSegmentSum(x, ids, 4);
    const xv = x.arraySync() as number[][][];
    const want = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => [0, 0]));
    [2, 0, 2, 5, -1, 1, 2].forEach((s, i) => {
      if (s >= 0 && s < 4) for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) want[s][a][b] += xv[i][a][b];
    });
    expect(got.shape).toEqual([4, 3, 2]);
    expectClose(got, tf.tensor(want), { rtol: 1e-6, atol: 1e-6 }); // same additions in the same order
    expect(Array.from(tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2).dataSync())).toEqual([3, 3]);
  });
  it('gives the gradient of gather (embedding lookups)', () => {
    const table = randomTensor([11, 4], 2);
    const idx = tf.tensor2d([[3, 3, 10], [0, 3, 7]], [2, 3], 'int32');
    const w = randomTensor([2, 3, 4], 3);
    const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), w)))([table]);
    const wv = w.arraySync() as number[][][];
    const want = Array.from({ length: 11 }, () => [0, 0, 0, 0]);
    [[3, 3, 10], [0, 3, 7]].forEach((r, i) => r.forEach((s, j) => wv[i][j].forEach((v, k) => (want[s][k] += v))));
    expectClose(g, tf.tensor(want), { rtol: 1e-6, atol: 1e-6 });
  });
});

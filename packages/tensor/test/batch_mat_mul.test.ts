// The cpu BatchMatMul kernel against a float64 loop: every transpose combination, batch
// broadcasting, odd sizes (not multiples of the 4-column and 2-row unrolling).
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { expectClose, randomTensor } from '../src/testing/index.js';

function reference(a: number[][][], b: number[][][], ta: boolean, tb: boolean): number[][][] {
  const batch = Math.max(a.length, b.length);
  return Array.from({ length: batch }, (_, bi) => {
    const A = a[a.length === 1 ? 0 : bi];
    const B = b[b.length === 1 ? 0 : bi];
    const at = (i: number, p: number) => (ta ? A[p][i] : A[i][p]);
    const bt = (p: number, j: number) => (tb ? B[j][p] : B[p][j]);
    const m = ta ? A[0].length : A.length;
    const k = ta ? A.length : A[0].length;
    const n = tb ? B.length : B[0].length;
    return Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
      return s;
    }));
  });
}

describe('BatchMatMul (cpu)', () => {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
    it(`transposeA=${ta} transposeB=${tb}, batch broadcast, odd sizes`, () => {
      const [m, k, n] = [7, 13, 9];
      for (const [ba, bb] of [[3, 3], [1, 3], [3, 1]]) {
        const a = randomTensor([ba, ta ? k : m, ta ? m : k], 1 + ba);
        const b = randomTensor([bb, tb ? n : k, tb ? k : n], 5 + bb);
        const got = tf.matMul(a, b, ta, tb);
        const want = reference(a.arraySync() as number[][][], b.arraySync() as number[][][], ta, tb);
        // float32 accumulation of 13 products vs float64: ~1e-6 relative
        expectClose(got, tf.tensor(want), { rtol: 1e-5, atol: 1e-5, name: `[${ba}] x [${bb}]` });
      }
    });
  }
  it('rank 2 and rank 4 inputs, and shape errors from tfjs', () => {
    const a = randomTensor([2, 3, 5, 4], 1);
    const b = randomTensor([2, 3, 4, 6], 2);
    expect(tf.matMul(a, b).shape).toEqual([2, 3, 5, 6]);
    const flat = tf.matMul(tf.reshape(a, [6, 5, 4]), tf.reshape(b, [6, 4, 6]));
    expectClose(tf.reshape(tf.matMul(a, b), [6, 5, 6]), flat, { rtol: 1e-6 });
    expect(() => tf.matMul(randomTensor([3, 4], 1), randomTensor([5, 6], 2))).toThrow();
  });
});

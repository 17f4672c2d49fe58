// ternaryMatmul: every backend against an exact host matmul of the unpacked weight and (on the cpu)
// the tfjs-ops reference, on awkward shapes and extreme activations; bad input.
import { initBackend, takeWebgpuErrors, tf } from '@falcon/tensor';
import { backendsUnderTest } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packedWeightTensor, packTernary, ternaryMatmul, unpackTernary } from '../src/index.js';
import { ternaryMatmulReference } from '../src/reference/ternary_matmul.js';
import { randomInt8, randomTernary } from './helpers.js';

/** y[m, o] = Σ_k x[m, k]·w[o, k] in JS integers: the definition of the result. */
function hostMatmul(x: ArrayLike<number>, w: ArrayLike<number>, m: number, k: number, n: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let o = 0; o < n; o++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += x[i * k + j] * w[o * k + j];
      y.push(s);
    }
  }
  return y;
}

// [leading dims of x, K (inFeatures), N (outFeatures)]: N not a multiple of 4, K odd (the cpu
// kernel's byte path) and K a multiple of 4 (its word path, with 4-token tiles from 4 tokens on and
// single tokens for the rest), K across its 64- and 256-column blocks, batch dims > 1, one token.
const CASES: [number[], number, number][] = [
  [[1], 7, 13],
  [[3], 16, 30],
  [[5], 33, 8],
  [[2, 3], 64, 5],
  [[1], 130, 9],
  [[4], 257, 17],
  [[5], 520, 6],
  [[9], 68, 21],
  [[2], 1, 1],
  [[], 11, 3],
];

describe.each(backendsUnderTest())('ternaryMatmul on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]); // a WGSL error makes a kernel return zeros instead of throwing
  });

  it.each(CASES)('x %j, K=%i, N=%i equals the unpacked matmul exactly', async (lead, k, n) => {
    const x = randomInt8([...lead, k], 100 + k);
    const w = randomTernary(n * k, 200 + n);
    const bytes = packTernary(w, n, k);
    const packed = packedWeightTensor(bytes);
    const y = ternaryMatmul(x, packed, n);
    expect(y.dtype).toBe('int32');
    expect(y.shape).toEqual([...lead, n]);
    // integers: exact, no tolerance
    const got = Array.from(await y.data());
    expect(got).toEqual(hostMatmul(await x.data(), unpackTernary(bytes, n, k), x.size / k, k, n));
    // the tfjs-ops reference decodes the words with int32 floorDiv/mod, exact on the cpu only
    // (tfjs-backend-webgpu computes int32 arithmetic in f32, which drops bits of words ≥ 2^24)
    if (backend === 'cpu') expect(got).toEqual(Array.from(await ternaryMatmulReference(x, packed, n).data()));
    tf.dispose([x, packed, y]);
  });

  it('equals a host matmul of the unpacked weight, with extreme activations (all −128 / all 127)', async () => {
    const k = 300;
    const n = 21;
    const w = randomTernary(n * k, 7, 0.1);
    const bytes = packTernary(w, n, k);
    const dense = unpackTernary(bytes, n, k);
    const packed = packedWeightTensor(bytes);
    for (const fill of [-128, 127]) {
      const xv = new Int32Array(2 * k).fill(fill);
      xv[k + 3] = -fill; // second token not constant
      const y = await ternaryMatmul(tf.tensor2d(xv, [2, k], 'int32'), packed, n).data();
      expect(Array.from(y)).toEqual(hostMatmul(xv, dense, 2, k, n)); // integers: exact
    }
  });

  it('reads code 3 as +2, as transformers unpack_weights does', async () => {
    // bytes [1, 2] for N=4, K=2: byte 0 = codes (3, 1, 1, 1), byte 1 = codes (1, 1, 1, 3)
    const bytes = new Uint8Array([0b01010111, 0b11010101]);
    const y = await ternaryMatmul(tf.tensor2d([[5, 7]], [1, 2], 'int32'), packedWeightTensor(bytes), 4).data();
    expect(Array.from(y)).toEqual([10, 0, 0, 14]);
  });

  it('no tokens: an empty output', async () => {
    const y = ternaryMatmul(tf.zeros([0, 7], 'int32'), packedWeightTensor(packTernary(randomTernary(13 * 7, 2), 13, 7)), 13);
    expect(y.shape).toEqual([0, 13]);
    expect((await y.data()).length).toBe(0);
  });

  it('rejects bad input before any kernel runs, naming the argument', () => {
    const packed = packedWeightTensor(packTernary(randomTernary(13 * 7, 1), 13, 7));
    const x = randomInt8([2, 7], 3);
    expect(() => ternaryMatmul(x, packed, 17)).toThrow(/ternaryMatmul: argument 'packed' has 7 words, but outFeatures=17, inFeatures=7 needs 9/);
    expect(() => ternaryMatmul(randomInt8([2, 6], 3), packed, 13)).toThrow(/argument 'packed' has 7 words.*inFeatures=6 needs 6/);
    expect(() => ternaryMatmul(tf.cast(x, 'float32'), packed, 13)).toThrow(/ternaryMatmul: argument 'x' must be int32/);
    expect(() => ternaryMatmul(x, tf.reshape(packed, [7, 1]), 13)).toThrow(/ternaryMatmul: argument 'packed' must be a 1-D int32 tensor/);
    expect(() => ternaryMatmul(x, packed, 12.5)).toThrow(/ternaryMatmul: attribute 'outFeatures' must be a positive integer/);
    expect(() => ternaryMatmul(tf.zeros([1, 65537], 'int32'), packed, 13)).toThrow(/ternaryMatmul: argument 'x' has inFeatures 65537; it must be in \[1, 65536\]/);
  });
});

// PackedBitLinear.quantize + forwardQuantized (the two halves of forward, issue 17): together they
// are forward, value for value; layers with a plain quantisation reading the same input can share
// one quantize (the products equal each layer's own forward); a layer with an input RMSNorm says it
// cannot share; bad q/scale are refused naming the argument.
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { PackedBitLinear, packTernary } from '../src/index.js';

/** A packed layer [n, k] with seeded ternary values, in either scale format. */
function layer(n: number, k: number, seed: number, options: { scaleFormat?: 'bitlinear' | 'offline'; bias?: boolean; norm?: boolean } = {}): PackedBitLinear {
  const t = Int8Array.from({ length: n * k }, (_, i) => (((i * 7 + seed * 13) % 3) - 1) as -1 | 0 | 1);
  return new PackedBitLinear({
    inFeatures: k,
    outFeatures: n,
    packed: packTernary(t, n, k),
    weightScale: 0.37 + seed / 10,
    scaleFormat: options.scaleFormat,
    bias: options.bias ? Array.from({ length: n }, (_, i) => (i % 5) / 7 - 0.3) : undefined,
    rmsNormWeight: options.norm ? Array.from({ length: k }, (_, i) => 1 + i / 50) : undefined,
  });
}

describe.each(backendsUnderTest())('%s', (backend) => {
  beforeAll(() => initBackend(backend));

  it.each([
    ['bitlinear', false],
    ['offline', true],
  ] as const)('quantize then forwardQuantized is forward (%s scales, bias %s), and a shared quantize gives each layer its own forward', async (scaleFormat, bias) => {
    // awkward sizes: 3 × 2 tokens, K = 19, N = 13, 6, 9
    const x = randomTensor([3, 2, 19], 4);
    const ls = [layer(13, 19, 1, { scaleFormat, bias }), layer(6, 19, 2, { scaleFormat, bias }), layer(9, 19, 3, { scaleFormat, bias })];
    expect(ls.every((l) => l.plainQuantization)).toBe(true);
    const { q, scale } = ls[0].quantize(x);
    for (const l of ls) {
      const want = l.forward(x);
      const got = l.forwardQuantized(q, scale);
      // the same kernels on the same values: equal to the bit
      expect(got.shape).toEqual([3, 2, l.outFeatures]);
      expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
      tf.dispose([want, got]);
    }
    tf.dispose([x, q, scale]);
    ls.forEach((l) => l.dispose());
  });

  it('a layer with an input RMSNorm has no plain quantisation; its quantize includes the norm', async () => {
    const l = layer(5, 8, 1, { norm: true });
    expect(l.plainQuantization).toBe(false);
    const x = randomTensor([4, 8], 2);
    const { q, scale } = l.quantize(x);
    const want = l.forward(x);
    const got = l.forwardQuantized(q, scale);
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    tf.dispose([x, q, scale, want, got]);
    l.dispose();
  });

  it('forwardQuantized refuses a float q, the wrong width and a scale of the wrong shape', () => {
    const l = layer(5, 8, 1);
    const x = randomTensor([4, 8], 2);
    const { q, scale } = l.quantize(x);
    expect(() => l.forwardQuantized(x, scale)).toThrow(/PackedBitLinear.forwardQuantized: argument 'q' must be int32 \[\.\.\., 8\], got float32/);
    expect(() => layer(5, 9, 1).forwardQuantized(q, scale)).toThrow(/argument 'q' must be int32 \[\.\.\., 9\]/);
    expect(() => l.forwardQuantized(q, tf.ones([4]))).toThrow(/argument 'scale' must be \[4,1\] \(one per token of q\), got \[4\]/);
    tf.dispose([x, q, scale]);
    l.dispose();
  });
});

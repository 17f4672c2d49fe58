// products/linears of one input with several weights (issue 17): packed weights share one input
// quantisation and, with groupScales, one rescale; either way each output equals the weight's own
// PackedBitLinear.forward to the bit (awkward widths 13/6/9, 2 × 3 tokens); float weights and a
// mixed set take the plain per-weight products; groupScales refuses what it cannot fuse.
import { beforeAll, describe, expect, it } from 'vitest';
import { PackedBitLinear, packTernary } from '@falcon/bitnet';
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, randomTensor } from '@falcon/tensor/testing';
import { groupScales, linears, product, products } from '../src/linear.js';

function packed(n: number, k: number, seed: number, bias = false): PackedBitLinear {
  const t = Int8Array.from({ length: n * k }, (_, i) => (((i * 5 + seed * 11) % 3) - 1) as -1 | 0 | 1);
  return new PackedBitLinear({ inFeatures: k, outFeatures: n, packed: packTernary(t, n, k), weightScale: 0.29 + seed / 7, bias: bias ? Array.from({ length: n }, (_, i) => i / 9 - 0.4) : undefined });
}

describe.each(backendsUnderTest())('%s', (backend) => {
  beforeAll(() => initBackend(backend));

  it('a packed group: shared quantisation, and with groupScales one rescale, equal to each forward exactly', async () => {
    const ws = [packed(13, 19, 1), packed(6, 19, 2), packed(9, 19, 3)];
    const x = randomTensor([6, 19], 3);
    const scales = groupScales(ws)!;
    expect(scales.shape).toEqual([28]);
    for (const ys of [products(x, ws, true), products(x, ws, true, scales)]) {
      for (const [i, w] of ws.entries()) {
        const want = w.forward(x);
        expect(ys[i].shape).toEqual([6, w.outFeatures]);
        expect(Array.from(await ys[i].data())).toEqual(Array.from(await want.data())); // same f32 operations
        want.dispose();
      }
      tf.dispose(ys);
    }
    // linears: 3-D input, reshaped once, same values
    const x3 = tf.reshape(x, [2, 3, 19]);
    const ys3 = linears(x3, ws, [undefined, undefined, undefined], true, scales);
    const want = ws[2].forward(x3);
    expect(ys3[2].shape).toEqual([2, 3, 9]);
    expect(Array.from(await ys3[2].data())).toEqual(Array.from(await want.data()));
    tf.dispose([x, x3, scales, want, ...ys3]);
    ws.forEach((w) => w.dispose());
  });

  it('float weights and a mixed set: the plain products; groupScales only for plain packed groups without bias', async () => {
    const w = randomTensor([5, 19], 4);
    const p = packed(4, 19, 1);
    const x = randomTensor([3, 19], 5);
    const [a, b] = products(x, [w, p], true);
    const [wa, wb] = [product(x, w, true), p.forward(x)];
    expect(Array.from(await a.data())).toEqual(Array.from(await wa.data()));
    expect(Array.from(await b.data())).toEqual(Array.from(await wb.data()));
    expect(groupScales([w, p])).toBeUndefined();
    expect(groupScales([p])).toBeUndefined();
    const withBias = packed(4, 19, 2, true);
    expect(groupScales([p, withBias])).toBeUndefined();
    tf.dispose([w, x, a, b, wa, wb]);
    [p, withBias].forEach((q) => q.dispose());
  });
});

// KVCache and decodeAttention: in-place appends on cpu, overflow and shape errors, decode against
// flashAttention and the reference over the cache's filled rows (GQA, ALiBi, window, left padding,
// chunks of several new tokens), gradients against autodiff of the reference, bad input.
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeAttention, decodeAttentionOp, flashAttention, KVCache } from '../src/index.js';
import { decodeAttentionReference } from '../src/reference/decode_attention.js';
import { hostReady, webgpuErrors } from './helpers.js';

describe.each(backendsUnderTest())('KVCache and decodeAttention on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await webgpuErrors()).toEqual([]); // WGSL errors make kernels return zeros
  });

  it('appends in place on cpu and tracks length and padding', async () => {
    const cache = new KVCache({ batch: 2, capacity: 8, nKvHeads: 3, headDim: 4 });
    expect(cache.inPlace).toBe(true); // kvCacheWrite has a kernel on every backend
    const k1 = randomTensor([2, 3, 3, 4], 1);
    const v1 = randomTensor([2, 3, 3, 4], 2);
    const keysBefore = cache.keys;
    cache.append(k1, v1, tf.tensor2d([[0, 1, 1], [1, 1, 1]]));
    expect(cache.length).toBe(3);
    if (backend === 'cpu') expect(cache.keys).toBe(keysBefore); // the same tensor, updated in place
    const k2 = randomTensor([2, 2, 3, 4], 3);
    const v2 = randomTensor([2, 2, 3, 4], 4);
    cache.append(k2, v2);
    expect(cache.length).toBe(5);
    const rows = (t: tf.Tensor) => tf.slice(t, [0, 0], [2, 5]);
    await expectCloseAsync(rows(cache.keys), tf.concat([k1, k2], 1), { rtol: 0, atol: 0, name: 'keys' }); // copies
    await expectCloseAsync(rows(cache.values), tf.concat([v1, v2], 1), { rtol: 0, atol: 0, name: 'values' });
    expect(await cache.keyPaddingMask?.array()).toEqual([
      [0, 1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1],
    ]);
    expect(() => cache.append(randomTensor([2, 4, 3, 4], 5), randomTensor([2, 4, 3, 4], 6))).toThrow(
      /KVCache.append: appending 4 token\(s\) to a cache holding 5 of capacity 8 would overflow; allocate a larger capacity/,
    );
    expect(() => cache.append(randomTensor([2, 1, 2, 4], 5), randomTensor([2, 1, 2, 4], 6))).toThrow(
      /KVCache.append: k has shape \[2,1,2,4\], expected \[2,1,3,4\]/,
    );
    expect(() => cache.append(k2, v2, tf.ones([2, 3]))).toThrow(/KVCache.append: keyPaddingMask has shape \[2,3\], expected \[2,2\]/);
    cache.reset();
    expect(cache.length).toBe(0);
    expect(cache.keyPaddingMask).toBeUndefined();
    expect(() => decodeAttention(randomTensor([2, 1, 3, 4], 1), cache)).toThrow(/decodeAttention: the cache is empty/);
    cache.dispose();
    expect(() => new KVCache({ batch: 1, capacity: 0, nKvHeads: 1, headDim: 4 })).toThrow(/KVCache: capacity must be an integer ≥ 1, got 0/);
  });

  const cases = [
    { name: 'one new token, GQA 3', b: 2, H: 6, Hkv: 2, d: 16, prompt: 37, steps: [1, 1, 1] },
    { name: 'chunks of new tokens, MQA, head dim 64', b: 1, H: 4, Hkv: 1, d: 64, prompt: 70, steps: [5, 1, 64] },
    { name: 'ALiBi and a sliding window of 16', b: 2, H: 4, Hkv: 2, d: 8, prompt: 30, steps: [1, 3], alibi: true, windowLeft: 15 },
    { name: 'left-padded batch', b: 3, H: 2, Hkv: 1, d: 8, prompt: 12, steps: [1, 2], leftPad: [0, 5, 11] },
  ];

  it.each(cases)('decode equals flashAttention over the filled rows: $name', async (c) => {
    {
      const total = c.prompt + c.steps.reduce((a, b) => a + b, 0);
      const q = randomTensor([c.b, total, c.H, c.d], 1);
      const k = randomTensor([c.b, total, c.Hkv, c.d], 2);
      const v = randomTensor([c.b, total, c.Hkv, c.d], 3);
      const slopes = c.alibi ? randomTensor([c.H], 4, { distribution: 'uniform', min: 0.1, max: 0.5 }) : undefined;
      const pad = c.leftPad ? tf.tensor2d(Array.from({ length: c.b }, (_, b) => Array.from({ length: total }, (_, j) => (j < c.leftPad![b] ? 0 : 1)))) : undefined;
      const part = (t: tf.Tensor, start: number, n: number) => tf.slice(t, [0, start], [c.b, n]);
      const full = flashAttention(q, k, v, { alibiSlopes: slopes, windowLeft: c.windowLeft, keyPaddingMask: pad });
      const cache = new KVCache({ batch: c.b, capacity: total + 3, nKvHeads: c.Hkv, headDim: c.d });
      cache.append(part(k, 0, c.prompt), part(v, 0, c.prompt), pad && part(pad, 0, c.prompt));
      let t = c.prompt;
      for (const n of c.steps) {
        cache.append(part(k, t, n), part(v, t, n), pad && part(pad, t, n));
        const got = decodeAttention(part(q, t, n), cache, { alibiSlopes: slopes, windowLeft: c.windowLeft });
        // the same kernel over the same rows (decode reads the cache in place): float64 accumulation
        // in a different tile alignment, so a few float32 ulps
        await expectCloseAsync(got.out, part(full.out, t, n), { rtol: 1e-5, atol: 1e-6, name: `out at ${t}` });
        await hostReady(cache.keyPaddingMask);
        const ref = decodeAttentionReference(
          { q: part(q, t, n), kCache: cache.keys, vCache: cache.values, keyPaddingMask: cache.keyPaddingMask, alibiSlopes: slopes },
          { scale: c.d ** -0.5, causal: true, windowLeft: c.windowLeft ?? -1, windowRight: -1, length: cache.length },
        );
        // against the float32 reference: as in flash_attention.test.ts
        await expectCloseAsync(got.out, ref.out, { rtol: 2e-5, atol: 2e-6, name: `out vs reference at ${t}` });
        await expectCloseAsync(got.lse, ref.lse, { rtol: 1e-6, atol: 1e-5, name: `lse vs reference at ${t}` });
        t += n;
      }
      cache.dispose();
    }
  });

  it('gradients of q and the cache match autodiff of the reference', async () => {
    {
      const [b, H, Hkv, d, cap, len, n] = [2, 4, 2, 8, 20, 13, 3];
      const q = randomTensor([b, n, H, d], 1);
      const kc = randomTensor([b, cap, Hkv, d], 2);
      const vc = randomTensor([b, cap, Hkv, d], 3);
      const mask = tf.tensor2d(Array.from({ length: b }, (_, bb) => Array.from({ length: cap }, (_, j) => (bb === 1 && j < 4 ? 0 : 1))));
      const attrs = { scale: 0.3, causal: true, windowLeft: -1, windowRight: -1, length: len };
      const w = randomTensor([b, n, H, d], 4);
      const wl = randomTensor([b, H, n], 5);
      const loss = (r: { out: tf.Tensor; lse: tf.Tensor }) => tf.add(tf.sum(tf.mul(r.out, w)), tf.sum(tf.mul(r.lse, wl))) as tf.Scalar;
      const got = tf.grads((a: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => loss(decodeAttentionOp({ q: a, kCache: kk, vCache: vv, keyPaddingMask: mask }, attrs)))([q, kc, vc]);
      await hostReady(mask);
      const want = tf.grads((a: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => loss(decodeAttentionReference({ q: a, kCache: kk, vCache: vv, keyPaddingMask: mask }, attrs)))([q, kc, vc]);
      // as in flash_attention.test.ts; rows beyond `length` get exactly zero in both
      for (const [i, name] of ['dq', 'dkCache', 'dvCache'].entries()) await expectCloseAsync(got[i], want[i], { rtol: 1e-4, atol: 2e-5, name });
    }
  });

  it('bad input', () => {
    const cache = new KVCache({ batch: 2, capacity: 6, nKvHeads: 2, headDim: 8 });
    cache.append(randomTensor([2, 2, 2, 8], 1), randomTensor([2, 2, 2, 8], 2));
    expect(() => decodeAttention(randomTensor([2, 3, 4, 8], 3), cache)).toThrow(/decodeAttention: 3 new queries but the cache holds only 2 tokens; append the new tokens' keys and values first/);
    expect(() => decodeAttention(randomTensor([1, 1, 4, 8], 3), cache)).toThrow(/decodeAttention: kCache has batch 2 but q has batch 1/);
    expect(() => decodeAttention(randomTensor([2, 1, 3, 8], 3), cache)).toThrow(/decodeAttention: q has 3 heads, which is not a multiple of the 2 KV heads of kCache/);
    expect(() => decodeAttention(randomTensor([2, 1, 4, 4], 3), cache)).toThrow(/decodeAttention: kCache has headDim 8 but q has headDim 4/);
    cache.dispose();
  });
});

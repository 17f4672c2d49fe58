// flashAttention: every kernel against the reference softmax(q·kᵀ·scale + bias + mask)·v on seeded
// inputs of awkward sizes (GQA 1/2/3/8, head dims 5/16/64/128, seqlen 1 to 2048, batch > 1, causal
// and not, ALiBi, sliding windows, key padding, packed sequences), gradients against tfjs autodiff
// of the reference, memory at seqlen 8192, and bad input.
import { initBackend, tf } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { flashAttention } from '../src/index.js';
import { lastWorkspaceBytes } from '../src/kernels/cpu/attention_problem.js';
import { flashAttentionReference } from '../src/reference/flash_attention.js';
import { flashAttentionBackwardReference } from '../src/reference/flash_attention_backward.js';
import type { Case } from './helpers.js';
import { attentionLoss, hostReady, inputs, lossWeights, webgpuErrors } from './helpers.js';

const cases: Case[] = [
  { name: 'MHA (GQA 1), causal, batch 2', b: 2, l: 37, lk: 37, H: 3, Hkv: 3, d: 16, causal: true },
  { name: 'seqlen 1', b: 2, l: 1, lk: 1, H: 2, Hkv: 1, d: 16, causal: true },
  { name: 'GQA 2, causal, seqlen 130 (2 tiles + 2)', b: 1, l: 130, lk: 130, H: 4, Hkv: 2, d: 64, causal: true },
  { name: 'GQA 3, non-causal, seqlenK ≠ seqlen', b: 2, l: 70, lk: 45, H: 6, Hkv: 2, d: 64, causal: false },
  { name: 'GQA 8 (MQA), causal, head dim 128', b: 1, l: 67, lk: 67, H: 8, Hkv: 1, d: 128, causal: true },
  { name: 'odd head dim 5, causal, seqlenK > seqlen (bottom-right)', b: 2, l: 9, lk: 133, H: 2, Hkv: 2, d: 5, causal: true },
  { name: 'causal with seqlen > seqlenK: early queries see no key', b: 1, l: 20, lk: 7, H: 2, Hkv: 1, d: 16, causal: true },
  { name: 'ALiBi, causal, GQA 2', b: 2, l: 75, lk: 75, H: 4, Hkv: 2, d: 16, causal: true, alibi: true },
  { name: 'ALiBi, non-causal', b: 1, l: 33, lk: 50, H: 3, Hkv: 1, d: 16, causal: false, alibi: true },
  { name: 'sliding window 20, causal', b: 2, l: 150, lk: 150, H: 2, Hkv: 1, d: 16, causal: true, windowLeft: 20 },
  { name: 'window (5, 7), non-causal', b: 1, l: 90, lk: 90, H: 2, Hkv: 2, d: 16, causal: false, windowLeft: 5, windowRight: 7 },
  { name: 'key padding (left-padded batch, one row fully masked)', b: 3, l: 41, lk: 41, H: 4, Hkv: 2, d: 16, causal: true, leftPad: [0, 13, 41] },
  { name: 'key padding, non-causal', b: 2, l: 19, lk: 70, H: 2, Hkv: 1, d: 16, causal: false, leftPad: [3, 66] },
  { name: 'packed sequences (one empty)', b: 2, l: 100, lk: 100, H: 3, Hkv: 1, d: 16, causal: true, cu: [0, 30, 30, 77, 100] },
  { name: 'packed sequences + ALiBi + window, non-causal', b: 1, l: 90, lk: 90, H: 2, Hkv: 1, d: 8, causal: false, cu: [0, 1, 64, 90], alibi: true, windowLeft: 9 },
  { name: 'long: seqlen 2048, GQA 2', b: 1, l: 2048, lk: 2048, H: 2, Hkv: 1, d: 16, causal: true, grad: false },
  { name: 'longer gradient: seqlen 600, GQA 2, window 300', b: 1, l: 600, lk: 600, H: 2, Hkv: 1, d: 16, causal: true, windowLeft: 300 },
];

const attrsOf = (c: Case) => ({ scale: c.d ** -0.5 * 1.3, causal: c.causal, windowLeft: c.windowLeft ?? -1, windowRight: c.windowRight ?? -1 });

describe.each(backendsUnderTest())('flashAttention on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    // a WGSL compile or validation error makes a webgpu kernel return zeros instead of throwing
    expect(await webgpuErrors()).toEqual([]);
  });
  // SwiftShader (the CI's WebGPU) is a CPU rasteriser: the longest cases stay on cpu
  const tooBig = (c: Case) => backend === 'webgpu' && c.l * c.lk * c.H > 300_000;

  describe.each(cases)('$name', (c) => {
    it.skipIf(tooBig(c))('forward matches the reference (out and lse)', async () => {
      const t = inputs(c);
      const a = attrsOf(c);
      const got = flashAttention(t.q, t.k, t.v, { ...t, causal: c.causal, softmaxScale: a.scale, windowLeft: a.windowLeft, windowRight: a.windowRight });
      await hostReady(t.keyPaddingMask, t.cuSeqlens);
      const want = flashAttentionReference(t, a);
      {
        // float32 inputs; the reference rounds every score, exp and matmul partial to float32 while the
        // kernel accumulates in float64: differences are a few float32 ulps of |scores| ≲ 20 (≈1e-6)
        // propagated through exp, so 2e-5 relative (+2e-6 absolute for outputs near 0) is ~10× that.
        await expectCloseAsync(got.out, want.out, { rtol: 2e-5, atol: 2e-6, name: 'out' });
        // lse = max + log(sum): absolute error of the scores (≈ 1e-6), never relative to a tiny lse
        await expectCloseAsync(got.lse, want.lse, { rtol: 1e-6, atol: 1e-5, name: 'lse' });
      }
      tf.dispose([got.out, got.lse, want.out, want.lse, ...Object.values(t)]);
    });

    it.skipIf(c.grad === false || tooBig(c))('gradients of q, k, v match autodiff of the reference', async () => {
      const t = inputs(c);
      const a = attrsOf(c);
      const { w, wl } = lossWeights(c);
      const opts = { ...t, causal: c.causal, softmaxScale: a.scale, windowLeft: a.windowLeft, windowRight: a.windowRight };
      const got = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => attentionLoss(flashAttention(q, k, v, opts), w, wl))([t.q, t.k, t.v]);
      await hostReady(t.keyPaddingMask, t.cuSeqlens);
      {
        const want = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => attentionLoss(flashAttentionReference({ ...t, q, k, v }, a), w, wl))([t.q, t.k, t.v]);
        // gradients sum seqlenK (dq) or group·seqlen (dk, dv) float32 products of O(1) terms whose
        // rounding in the reference is ~1e-6 relative each; ds = p·(dp − D) cancels, so errors are
        // relative to the largest terms: 1e-4 relative with 2e-5 absolute covers sums of ≤ 2048 terms.
        for (const [i, n] of ['dq', 'dk', 'dv'].entries()) await expectCloseAsync(got[i], want[i], { rtol: 1e-4, atol: 2e-5, name: n });
        if (backend === 'cpu' && c.l <= 256) {
          // the materialising FA2 formulas (the kernel of backends without a tiled backward) against autodiff
          const fwd = flashAttentionReference(t, a);
          const dlse = tf.where(tf.isFinite(fwd.lse), wl, tf.zerosLike(wl));
          const f = flashAttentionBackwardReference({ ...t, out: fwd.out, lse: fwd.lse, dout: w, dlse }, a);
          for (const [i, g] of [f.dq, f.dk, f.dv].entries()) await expectCloseAsync(g, want[i], { rtol: 1e-4, atol: 2e-5, name: `formula ${['dq', 'dk', 'dv'][i]}` });
        }
        tf.dispose(want);
      }
      tf.dispose([...got, w, wl, ...Object.values(t)]);
    });
  });

  it('default options: causal, scale headDim^-0.5; packed sequences from host numbers', async () => {
    const c: Case = { name: '', b: 1, l: 10, lk: 10, H: 2, Hkv: 1, d: 16, causal: true };
    const t = inputs(c, 5);
    const want = flashAttentionReference({ q: t.q, k: t.k, v: t.v }, { scale: 0.25, causal: true, windowLeft: -1, windowRight: -1 });
    await expectCloseAsync(flashAttention(t.q, t.k, t.v).out, want.out, { rtol: 2e-5, atol: 2e-6, name: 'out' }); // as above
    const cuSeqlens = tf.tensor1d([0, 4, 10], 'int32');
    const packed = flashAttentionReference({ q: t.q, k: t.k, v: t.v, cuSeqlens }, { scale: 0.25, causal: true, windowLeft: -1, windowRight: -1 });
    await expectCloseAsync(flashAttention(t.q, t.k, t.v, { cuSeqlens: [0, 4, 10] }).out, packed.out, { rtol: 2e-5, atol: 2e-6, name: 'packed' }); // as above
  });

  it('key padding masks of dtype float32, int32 and bool agree', async () => {
    const c: Case = { name: '', b: 2, l: 12, lk: 12, H: 2, Hkv: 1, d: 8, causal: true, leftPad: [3, 0] };
    const t = inputs(c, 9);
    const f = t.keyPaddingMask as tf.Tensor;
    const want = flashAttention(t.q, t.k, t.v, { keyPaddingMask: f }).out;
    for (const m of [tf.cast(f, 'int32'), tf.cast(f, 'bool')]) {
      await expectCloseAsync(flashAttention(t.q, t.k, t.v, { keyPaddingMask: m }).out, want, { rtol: 0, atol: 0, name: m.dtype }); // same kernel, same keys
    }
  });

  it.runIf(backend === 'cpu')('checks the values of a cuSeqlens tensor on cpu', () => {
    const q = randomTensor([1, 5, 2, 4], 1);
    expect(() => flashAttention(q, q, q, { cuSeqlens: tf.tensor1d([0, 3, 2, 5], 'int32') })).toThrow(/flashAttention: cuSeqlens must be non-decreasing, got 3 then 2 at index 2/);
    expect(() => flashAttention(q, q, q, { cuSeqlens: tf.tensor1d([1, 5], 'int32') })).toThrow(/flashAttention: cuSeqlens must start at 0, got 1/);
  });

  it.runIf(backend === 'cpu')('seqlen 8192 forward and backward never allocate the score matrix', () => {
    const L = 8192;
    const q = randomTensor([1, L, 2, 4], 1);
    const k = randomTensor([1, L, 1, 4], 2);
    const v = randomTensor([1, L, 1, 4], 3);
    const scoreBytes = 4 * L * L; // one float32 [seqlen, seqlen] matrix: 256 MiB
    const inputBytes = 4 * L * (2 + 1 + 1) * 4;
    const before = tf.memory().numBytes;
    let peak = 0;
    const track = () => (peak = Math.max(peak, tf.memory().numBytes - before));
    const { out, lse } = flashAttention(q, k, v);
    track();
    const [dq] = tf.grads((qq: tf.Tensor) => {
      const r = flashAttention(qq, k, v);
      track();
      return tf.sum(r.out) as tf.Scalar;
    })([q]);
    track();
    // the kernels' own scratch (typed arrays outside tfjs) is linear in seqlen
    const workspace = lastWorkspaceBytes();
    expect(workspace).toBeLessThan(100 * L * 4 * 4);
    expect(workspace).toBeLessThan(scoreBytes / 100);
    // tensors alive at any point: inputs, outputs, gradients: a few × the input size
    expect(peak).toBeLessThan(8 * inputBytes);
    expect(peak).toBeLessThan(scoreBytes / 10);
    expect(out.shape).toEqual([1, L, 2, 4]);
    expect(lse.shape).toEqual([1, 2, L]);
    expect(Number.isFinite(tf.sum(dq).dataSync()[0])).toBe(true);
    tf.dispose([q, k, v, out, lse, dq]);
  });

  describe('bad input', () => {
    const q = randomTensor([2, 5, 4, 8], 1);
    const k = randomTensor([2, 5, 2, 8], 2);
    it.each([
      ['q of rank 3', () => flashAttention(tf.zeros([2, 5, 8]), k, k), /flashAttention: q must have rank 4 \[batch, seqlen, nHeads, headDim\], got shape \[2,5,8\]/],
      ['heads that do not divide', () => flashAttention(randomTensor([2, 5, 6, 8], 1), randomTensor([2, 5, 4, 8], 2), randomTensor([2, 5, 4, 8], 3)), /flashAttention: q has 6 heads, which is not a multiple of the 4 KV heads of k/],
      ['v unlike k', () => flashAttention(q, k, randomTensor([2, 6, 2, 8], 3)), /flashAttention: v has shape \[2,6,2,8\] but k has shape \[2,5,2,8\]/],
      ['batch mismatch', () => flashAttention(q, randomTensor([1, 5, 2, 8], 2), randomTensor([1, 5, 2, 8], 3)), /flashAttention: k has batch 1 but q has batch 2/],
      ['head dim mismatch', () => flashAttention(q, randomTensor([2, 5, 2, 4], 2), randomTensor([2, 5, 2, 4], 3)), /flashAttention: k has headDim 4 but q has headDim 8/],
      ['int32 q', () => flashAttention(tf.zeros([2, 5, 4, 8], 'int32'), k, k), /flashAttention: q must be float32, got int32/],
      ['alibi slopes count', () => flashAttention(q, k, k, { alibiSlopes: tf.ones([3]) }), /flashAttention: alibiSlopes has 3 slopes, expected one per query head \(4\)/],
      ['mask shape', () => flashAttention(q, k, k, { keyPaddingMask: tf.ones([2, 4]) }), /flashAttention: keyPaddingMask has shape \[2,4\], expected \[2,5\]/],
      ['cuSeqlens dtype', () => flashAttention(q, k, k, { cuSeqlens: tf.tensor1d([0, 5]) }), /flashAttention: cuSeqlens must be int32, got float32/],
      ['cuSeqlens end', () => flashAttention(q, k, k, { cuSeqlens: [0, 2, 4] }), /flashAttention: cuSeqlens must end at seqlen 5, got 4/],
      ['cuSeqlens decreasing', () => flashAttention(q, k, k, { cuSeqlens: [0, 3, 2, 5] }), /flashAttention: cuSeqlens must be non-decreasing, got 3 then 2 at index 2/],
      ['cuSeqlens with seqlenK ≠ seqlen', () => flashAttention(q, randomTensor([2, 7, 2, 8], 2), randomTensor([2, 7, 2, 8], 3), { cuSeqlens: tf.tensor1d([0, 5], 'int32') }), /flashAttention: cuSeqlens \(packed sequences\) needs as many keys as queries/],
      ['window', () => flashAttention(q, k, k, { windowLeft: 2.5 }), /flashAttention: windowLeft must be an integer ≥ -1, got 2.5/],
      ['scale', () => flashAttention(q, k, k, { softmaxScale: NaN }), /flashAttention: softmaxScale must be a finite number, got NaN/],
    ])('%s', (_name, f, message) => {
      const before = tf.memory().numTensors;
      expect(f).toThrow(message);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 8); // only the inputs built in the thunk
    });
  });
});

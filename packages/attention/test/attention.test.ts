// Attention (the Falcon-H1 attention block): parameters named as transformers names them, forward
// and parameter gradients against the block written with the reference ops, prefill + decode steps
// against the full forward (left-padded batch, ALiBi, sliding window), weights loading, bad input.
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '@falcon/tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionConfig } from '../src/index.js';
import { alibiSlopes, applyRope, Attention, ropeFrequencies } from '../src/index.js';
import { applyRopeReference } from '../src/reference/apply_rope.js';
import { flashAttentionReference } from '../src/reference/flash_attention.js';
import { webgpuErrors } from './helpers.js';

/**
 * The block written plainly with the reference ops, reading the block's own parameters. On webgpu
 * the rotation uses the applyRope kernel (checked against transformers to 1e-6 in
 * apply_rope.test.ts): the reference's WGSL built-in cos/sin are only held to 2⁻¹¹.
 */
function referenceBlock(att: Attention, cfg: AttentionConfig, u: Tensor, positions: Tensor, maxPosition: number, project = true): Tensor {
  const p = att.parameters();
  const [b, l] = u.shape as number[];
  const hd = att.headDim;
  const lin = (x: Tensor, name: string) => {
    const w = p[`${name}.weight`];
    const y = tf.matMul(tf.reshape(x, [-1, x.shape[2] as number]), w, false, true);
    return tf.reshape(p[`${name}.bias`] ? tf.add(y, p[`${name}.bias`]) : y, [b, l, w.shape[0]]);
  };
  let q = tf.reshape(lin(u, 'q_proj'), [b, l, cfg.numHeads, hd]);
  let k = tf.reshape(tf.mul(lin(u, 'k_proj'), cfg.keyMultiplier ?? 1), [b, l, cfg.numKvHeads, hd]);
  const v = tf.reshape(lin(u, 'v_proj'), [b, l, cfg.numKvHeads, hd]);
  if (cfg.rope !== null) {
    const f = ropeFrequencies(cfg.rope ?? { rope_theta: 10000 }, hd, { maxPositionEmbeddings: cfg.maxPositionEmbeddings, seqLen: maxPosition + 1 });
    const attrs = { invFreq: Array.from(f.invFreq), attentionScaling: f.attentionScaling, inverse: false };
    const rotate = tf.getBackend() === 'webgpu' ? (x: Tensor) => applyRope(x, positions, f) : (x: Tensor) => applyRopeReference(x, positions, attrs);
    q = rotate(q);
    k = rotate(k);
  }
  const { out } = flashAttentionReference(
    { q, k, v, alibiSlopes: cfg.alibi ? alibiSlopes(cfg.numHeads) : undefined },
    { scale: hd ** -0.5, causal: true, windowLeft: cfg.slidingWindow ? cfg.slidingWindow - 1 : -1, windowRight: -1 },
  );
  const flat = tf.reshape(out, [b, l, cfg.numHeads * hd]);
  return project ? lin(flat, 'o_proj') : flat;
}

/** Random weights (biases included) so that every parameter matters. */
function randomize(att: Attention, seed: number): void {
  const w: Record<string, Tensor> = {};
  Object.entries(att.parameters()).forEach(([name, p], i) => (w[name] = randomTensor(p.shape, seed + i, { std: 0.3 })));
  att.loadWeights(w);
}

const falconLike: AttentionConfig = {
  hiddenSize: 32,
  numHeads: 6,
  numKvHeads: 2,
  headDim: 8,
  keyMultiplier: 1.5,
  attentionBias: true,
  rope: { rope_type: 'default', rope_theta: 1e11 },
  maxPositionEmbeddings: 4096,
};

describe.each(backendsUnderTest())('Attention on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await webgpuErrors()).toEqual([]); // WGSL errors make kernels return zeros
  });

  it('names and shapes its parameters as transformers does', () => {
    const att = new Attention(falconLike);
    const shapes = Object.fromEntries(Object.entries(att.parameters()).map(([n, p]) => [n, p.shape]));
    expect(shapes).toEqual({
      'q_proj.weight': [48, 32],
      'q_proj.bias': [48],
      'k_proj.weight': [16, 32],
      'k_proj.bias': [16],
      'v_proj.weight': [16, 32],
      'v_proj.bias': [16],
      'o_proj.weight': [32, 48],
      'o_proj.bias': [32],
    });
    expect(Object.values(att.parameters()).every((p) => p instanceof tf.Variable && p.trainable)).toBe(true);
    const fused = new Attention({ hiddenSize: 16, numHeads: 4, numKvHeads: 4 });
    expect(Object.keys(fused.parameters())).toEqual(['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight']);
    const noO = new Attention({ hiddenSize: 16, numHeads: 4, numKvHeads: 1, outputProjection: false });
    expect(Object.keys(noO.parameters())).toEqual(['q_proj.weight', 'k_proj.weight', 'v_proj.weight']);
    expect(() => noO.forward(tf.zeros([1, 2, 16]))).toThrow(/Attention: this block was built with outputProjection: false/);
    expect(noO.forwardPreProjection(tf.zeros([1, 2, 16])).output.shape).toEqual([1, 2, 16]);
    [att, fused, noO].forEach((a) => a.dispose());
  });

  it('forward and parameter gradients match the block written with the reference ops', async () => {
    const att = new Attention(falconLike);
    randomize(att, 10);
    {
      const u = randomTensor([2, 19, 32], 1);
      const positions = tf.range(0, 19, 1, 'int32');
      // float32 projections (identical ops) around attention whose error is ~1e-6 relative (see
      // flash_attention.test.ts); o_proj sums 48 such terms
      await expectCloseAsync(att.forward(u).output, referenceBlock(att, falconLike, u, positions, 18), { rtol: 1e-4, atol: 1e-5, name: 'output' });
      await expectCloseAsync(att.forwardPreProjection(u).output, referenceBlock(att, falconLike, u, positions, 18, false), {
        rtol: 1e-4,
        atol: 1e-5,
        name: 'pre-projection',
      });
      const w = randomTensor([2, 19, 32], 2);
      const got = tf.variableGrads(() => tf.sum(tf.mul(att.forward(u).output, w)) as tf.Scalar);
      const want = tf.variableGrads(() => tf.sum(tf.mul(referenceBlock(att, falconLike, u, positions, 18), w)) as tf.Scalar);
      const params = att.parameters();
      for (const [name, p] of Object.entries(params)) {
        // sums over batch·seqlen = 38 tokens of the attention gradients (1e-4 relative, see the flash tests)
        await expectCloseAsync(got.grads[p.name], want.grads[p.name], { rtol: 2e-4, atol: 2e-5, name: `d ${name}` });
      }
    }
    att.dispose();
  });

  const decodeConfigs: [string, AttentionConfig][] = [
    ['Falcon-H1-like (RoPE θ=1e11, key multiplier, GQA 3)', falconLike],
    ['ALiBi and a sliding window of 6, MQA, no RoPE', { hiddenSize: 24, numHeads: 4, numKvHeads: 1, rope: null, alibi: true, slidingWindow: 6 }],
    ['llama3 RoPE', { hiddenSize: 32, numHeads: 4, numKvHeads: 2, rope: { rope_type: 'llama3', rope_theta: 5e5, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } }],
  ];

  it.each(decodeConfigs)('prefill then decode steps equal the full forward, left-padded batch: %s', async (_name, cfg) => {
    const att = new Attention(cfg);
    randomize(att, 20);
    {
      const [b, prompt, steps, d] = [3, 9, 4, cfg.hiddenSize];
      const total = prompt + steps;
      const leftPad = [0, 3, 8];
      const u = randomTensor([b, total, d], 3);
      const mask = tf.tensor2d(leftPad.map((p) => Array.from({ length: total }, (_, j) => (j < p ? 0 : 1))));
      // positions count real tokens only (as transformers derives them from the attention mask)
      const positions = tf.tensor2d(leftPad.map((p) => Array.from({ length: total }, (_, j) => Math.max(0, j - p))), undefined, 'int32');
      const cols = (t: Tensor, s: number, n: number) => tf.slice(t, [0, s], [b, n]);
      const full = att.forward(u, { positions, keyPaddingMask: mask }).output;
      const { output: pre, cache } = att.forward(cols(u, 0, prompt), { positions: cols(positions, 0, prompt), keyPaddingMask: cols(mask, 0, prompt), cacheCapacity: total });
      // the prefill is the same computation on a prefix (causal)
      await expectCloseAsync(pre, cols(full, 0, prompt), { rtol: 1e-5, atol: 1e-6, name: 'prefill' });
      if (!cache) throw new Error('no cache');
      expect(cache.length).toBe(prompt);
      for (let t = prompt; t < total; t++) {
        const y = att.step(cols(u, t, 1), cache, { positions: cols(positions, t, 1) });
        // same float32 projections; attention over the same keys by the same kernel: a few ulps
        await expectCloseAsync(y, cols(full, t, 1), { rtol: 1e-5, atol: 1e-6, name: `step ${t}` });
      }
      expect(() => att.step(cols(u, 0, 1), cache)).toThrow(/Attention.step: 1 new token\(s\) would overflow the cache \(holding 13 of capacity 13\)/);
      cache.dispose();
    }
    att.dispose();
  });

  it('default positions continue from the cache; stepPreProjection stops before o_proj', async () => {
    const att = new Attention({ hiddenSize: 16, numHeads: 2, numKvHeads: 1 });
    {
      const u = randomTensor([1, 7, 16], 4);
      const full = att.forwardPreProjection(u).output;
      const { cache } = att.forwardPreProjection(tf.slice(u, [0, 0], [1, 5]), { cacheCapacity: 8 });
      if (!cache) throw new Error('no cache');
      const y = att.stepPreProjection(tf.slice(u, [0, 5], [1, 2]), cache); // two tokens at once
      await expectCloseAsync(y, tf.slice(full, [0, 5], [1, 2]), { rtol: 1e-5, atol: 1e-6, name: 'chunk of 2' }); // as above
      cache.dispose();
    }
    att.dispose();
  });

  it('dynamic RoPE follows the longest position of the call, as transformers', async () => {
    const cfg: AttentionConfig = { hiddenSize: 16, numHeads: 2, numKvHeads: 2, rope: { rope_type: 'dynamic', rope_theta: 1e4, factor: 2 }, maxPositionEmbeddings: 8 };
    const att = new Attention(cfg);
    randomize(att, 30);
    {
      const u = randomTensor([1, 12, 16], 5);
      const positions = tf.range(0, 12, 1, 'int32');
      await expectCloseAsync(att.forward(u).output, referenceBlock(att, cfg, u, positions, 11), { rtol: 1e-4, atol: 1e-5, name: 'output' }); // as above
    }
    att.dispose();
  });

  it('loadWeights checks names and shapes', async () => {
    const att = new Attention({ hiddenSize: 8, numHeads: 2, numKvHeads: 1 });
    const w = Object.fromEntries(Object.entries(att.parameters()).map(([n, p]) => [n, tf.ones(p.shape)]));
    att.loadWeights(w);
    await expectCloseAsync(att.parameters()['k_proj.weight'], tf.ones([4, 8]), { rtol: 0, atol: 0, name: 'loaded' });
    const { 'v_proj.weight': _omit, ...missing } = w;
    expect(() => att.loadWeights(missing)).toThrow(/Attention.loadWeights: missing weight 'v_proj.weight' \(expected shape \[4,8\]\)/);
    expect(() => att.loadWeights({ ...w, 'q_proj.weight': tf.ones([8, 4]) })).toThrow(/Attention.loadWeights: weight 'q_proj.weight' has shape \[8,4\], expected \[8,8\]/);
    expect(() => att.loadWeights({ ...w, 'q_norm.weight': tf.ones([4]) })).toThrow(/Attention.loadWeights: unexpected weight 'q_norm.weight'/);
    att.loadWeights({ ...w, 'q_norm.weight': tf.ones([4]) }, { strict: false });
    att.dispose();
  });

  it('bad configuration and input', () => {
    expect(() => new Attention({ hiddenSize: 16, numHeads: 6, numKvHeads: 4, headDim: 4 })).toThrow(/Attention: numHeads 6 is not a multiple of numKvHeads 4/);
    expect(() => new Attention({ hiddenSize: 10, numHeads: 4, numKvHeads: 2 })).toThrow(/Attention: headDim must be a positive integer \(hiddenSize 10 \/ numHeads 4 = 2.5\); give headDim explicitly/);
    expect(() => new Attention({ hiddenSize: 16, numHeads: 2, numKvHeads: 1, rope: { rope_type: 'linear', rope_theta: 1e4 } })).toThrow(/ropeFrequencies: rope_type 'linear' needs a finite number 'factor'/);
    const att = new Attention({ hiddenSize: 16, numHeads: 2, numKvHeads: 1 });
    expect(() => att.forward(tf.zeros([1, 3, 12]))).toThrow(/Attention.forward: u has hidden size 12, expected 16/);
    expect(() => att.forward(tf.zeros([3, 16]))).toThrow(/Attention.forward: u must have rank 3 \[batch, seqlen, hiddenSize\]/);
    expect(() => att.forward(tf.zeros([1, 3, 16]), { cacheCapacity: 2 })).toThrow(/Attention.forward: cacheCapacity must be an integer ≥ 3, got 2/);
    const cache = att.createCache(2, 4);
    expect(() => att.step(tf.zeros([1, 1, 16]), cache)).toThrow(/Attention.step: the cache \[batch 2, nKvHeads 1, headDim 8\] does not match this block and input \(batch 1/);
    cache.dispose();
    att.dispose();
  });
});

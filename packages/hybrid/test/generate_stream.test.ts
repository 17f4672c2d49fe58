// generateStream and the device-side token choice, on every backend under test: sampleTokens maps
// each uniform draw to the token whose CDF interval holds it (float64 reference), greedy is the
// argmax; generateStream yields what generate returns (left-padded batch, EOS then pad), stops at
// EOS, and leaves no tensor behind when the consumer stops early.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor1D, Tensor2D } from '@falcon/tensor';
import { backendsUnderTest } from '@falcon/tensor/testing';
import { canSampleOnDevice, FalconH1ForCausalLM, generate, generateStream, hybridConfig, sampleTokens } from '../src/index.js';
import type { SamplingOptions } from '../src/index.js';

const LOGITS = [0.3, -1.2, 2.5, 0.31, 1.7, -0.4, 2.2, 0.0, -3.0, 1.1, 0.9];

/** Token order and probabilities of the sampling distribution in float64 (sorted when top-k/top-p apply, else vocabulary order). */
function distribution(o: SamplingOptions): { order: number[]; probs: number[] } {
  const z = LOGITS.map((l) => l / (o.temperature ?? 1));
  const e = z.map((x) => Math.exp(x - Math.max(...z)));
  const sorts = !!o.topK || (o.topP ?? 1) < 1;
  let order = LOGITS.map((_, i) => i);
  if (sorts) order.sort((a, b) => LOGITS[b] - LOGITS[a]);
  if (o.topK) order = order.slice(0, o.topK);
  const mass = order.reduce((a, i) => a + e[i], 0);
  let p = order.map((i) => e[i] / mass);
  if ((o.topP ?? 1) < 1) {
    let acc = 0;
    let n = 0;
    while (n < p.length && acc < o.topP!) acc += p[n++];
    order = order.slice(0, n);
    p = p.slice(0, n);
  }
  const kept = p.reduce((a, b) => a + b, 0);
  return { order, probs: p.map((x) => x / kept) };
}

const CASES: SamplingOptions[] = [
  { doSample: true },
  { doSample: true, temperature: 0.7 },
  { doSample: true, topK: 3 },
  { doSample: true, topK: 1 },
  { doSample: true, topP: 0.6 },
  { doSample: true, topP: 0.05 },
  { doSample: true, temperature: 1.3, topK: 7, topP: 0.95 },
];

const config = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true, max_position_embeddings: 32, eos_token_id: null, pad_token_id: 0,
});

describe.each(backendsUnderTest())('%s', (backend) => {
  beforeAll(() => initBackend(backend));

  it('sampleTokens: greedy is the argmax of each row', async () => {
    const logits = tf.tensor2d([LOGITS, LOGITS.map((x) => -x)]) as Tensor2D;
    expect(Array.from(await sampleTokens(logits, {}).data())).toEqual([2, 8]);
  });

  it.each(CASES)('sampleTokens: each draw gives the token whose CDF interval holds it: %o', async (o) => {
    const { order, probs } = distribution(o);
    const cdf: number[] = [];
    probs.reduce((a, p, i) => (cdf[i] = a + p), 0);
    // draws within 1e-5 of an interval's edge are left out (float32 CDF against float64)
    const us = Array.from({ length: 400 }, (_, i) => (i + 0.5) / 400).filter((u) => !cdf.some((c) => Math.abs(c - u) < 1e-5));
    const logits = tf.tensor2d(us.map(() => LOGITS)) as Tensor2D;
    const got = await sampleTokens(logits, o, tf.tensor1d(us) as Tensor1D).data();
    us.forEach((u, i) => expect(got[i], `u=${u}`).toBe(order[cdf.findIndex((c) => u < c)]));
  });

  it('sampleTokens refuses sampling without draws', () => {
    expect(() => sampleTokens(tf.zeros([2, 5]) as Tensor2D, { doSample: true })).toThrow(/sampleTokens: sampling needs one uniform draw per row, float32 \[2\], got none/);
  });

  it('generateStream yields what generate returns, left-padded batch, EOS then pad', async () => {
    const model = new FalconH1ForCausalLM(config, 5);
    const prompt = tf.tensor2d([[0, 0, 5, 6, 7], [9, 3, 4, 8, 2]], [2, 5], 'int32') as Tensor2D;
    const attentionMask = tf.tensor2d([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], [2, 5], 'int32') as Tensor2D;
    const full = (await (await generate(model, prompt, { maxNewTokens: 12, attentionMask })).array()) as number[][];
    const steps: number[][] = [];
    for await (const t of generateStream(model, prompt, { maxNewTokens: 12, attentionMask })) steps.push(t);
    expect(steps).toHaveLength(12);
    expect(full.map((r) => r.slice(5))).toEqual([steps.map((s) => s[0]), steps.map((s) => s[1])]);
    // the first row alone (no padding) continues the same way
    const alone = (await (await generate(model, tf.tensor2d([[5, 6, 7]], [1, 3], 'int32') as Tensor2D, { maxNewTokens: 12 })).array()) as number[][];
    expect(alone[0].slice(3)).toEqual(full[0].slice(5));
    // EOS: a sequence stops at its first EOS, later positions get the pad; all stopped ends the stream
    const eos = full[1][7];
    const stopped: number[][] = [];
    for await (const t of generateStream(model, prompt, { maxNewTokens: 12, attentionMask, eosTokenId: eos })) stopped.push(t);
    const ends = full.map((r) => r.slice(5).indexOf(eos)); // row 1 has one by construction
    expect(stopped).toHaveLength(Math.min(12, ends.includes(-1) ? 12 : Math.max(...ends) + 1));
    full.forEach((r, i) => {
      const want = r.slice(5, 5 + stopped.length).map((t, j) => (ends[i] >= 0 && j > ends[i] ? 0 : t));
      expect(stopped.map((s) => s[i]), `row ${i}`).toEqual(want);
    });
    model.dispose();
  });

  it('without a TopK kernel (cuda) top-k sampling reads the logits and draws the same tokens on the host', async () => {
    const model = new FalconH1ForCausalLM(config, 7);
    const prompt = tf.tensor2d([[5, 6, 7], [8, 9, 10]], [2, 3], 'int32') as Tensor2D;
    const o = { maxNewTokens: 14, doSample: true, temperature: 1.5, topK: 6, topP: 0.9, seed: 9 };
    expect(canSampleOnDevice(o)).toBe(true);
    const device = await (await generate(model, prompt, o)).array();
    const topk = tf.getKernel('TopK', backend)!;
    tf.unregisterKernel('TopK', backend);
    try {
      expect(canSampleOnDevice(o)).toBe(false);
      expect(canSampleOnDevice({ doSample: true, temperature: 2 })).toBe(true);
      // the same uniforms in the same order over the same sorted tokens (a draw within rounding of a CDF edge: ~1e-5 per draw)
      expect(await (await generate(model, prompt, o)).array()).toEqual(device);
    } finally {
      tf.registerKernel(topk);
    }
    model.dispose();
  });

  it('stopping early releases the cache', async () => {
    const model = new FalconH1ForCausalLM(config, 6);
    const prompt = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32') as Tensor2D;
    const before = tf.memory().numTensors;
    let n = 0;
    for await (const t of generateStream(model, prompt, { maxNewTokens: 20, doSample: true, temperature: 2, topK: 5, seed: 3 })) {
      expect(t).toHaveLength(1);
      if (++n === 4) break;
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

// nextToken against an independent float64 computation of the sampling distribution
// (softmax(logits / T), the top-k tokens, then the smallest most-likely prefix reaching top-p):
// each uniform draw maps to the token whose CDF interval holds it, seeded draws follow the
// distribution, seeds reproduce, and bad options are refused.
import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { checkSamplingOptions, FalconH1ForCausalLM, hybridConfig, nextToken } from '../src/index.js';
import type { SamplingOptions } from '../src/index.js';

/** The sampling distribution in float64, written from its definition: token → probability. */
function distribution(logits: number[], o: SamplingOptions): { order: number[]; probs: number[] } {
  const t = o.temperature ?? 1;
  const z = logits.map((l) => l / t);
  const max = Math.max(...z);
  const e = z.map((x) => Math.exp(x - max));
  const total = e.reduce((a, b) => a + b, 0);
  let order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  if (o.topK) order = order.slice(0, o.topK);
  let p = order.map((i) => e[i] / total);
  if ((o.topP ?? 1) < 1) {
    const mass = p.reduce((a, b) => a + b, 0); // of the top-k tokens
    let acc = 0;
    let n = 0;
    while (n < p.length && acc < (o.topP ?? 1) * mass) acc += p[n++];
    order = order.slice(0, n);
    p = p.slice(0, n);
  }
  const kept = p.reduce((a, b) => a + b, 0);
  return { order, probs: p.map((x) => x / kept) };
}

/** An Rng whose uniform() returns the given value. */
const fixed = (u: number) => ({ uniform: () => u }) as unknown as Rng;

// 11 logits with distinct values, one tie with the maximum absent: awkward sizes and spacing
const LOGITS = [0.3, -1.2, 2.5, 0.31, 1.7, -0.4, 2.2, 0.0, -3.0, 1.1, 0.9];
const CASES: SamplingOptions[] = [
  { doSample: true },
  { doSample: true, temperature: 0.7 },
  { doSample: true, temperature: 2.5 },
  { doSample: true, topK: 3 },
  { doSample: true, topK: 1 },
  { doSample: true, topP: 0.6 },
  { doSample: true, topP: 0.05 }, // below the top token's probability: only it is left
  { doSample: true, temperature: 0.5, topK: 5, topP: 0.8 },
  { doSample: true, temperature: 1.3, topK: 7, topP: 0.95 },
];

describe('nextToken', () => {
  const logits = Float32Array.from(LOGITS);

  it('greedy: the argmax, the first one on ties', () => {
    expect(nextToken(logits, {}, new Rng(0))).toBe(2);
    expect(nextToken(Float32Array.from([1, 5, 5, 2]), { doSample: false, temperature: 0.1 }, new Rng(0))).toBe(1);
  });

  it.each(CASES)('every uniform draw gives the token whose CDF interval holds it: %o', (o) => {
    const { order, probs } = distribution(LOGITS, o);
    const cdf: number[] = [];
    probs.reduce((a, p, i) => (cdf[i] = a + p), 0);
    for (let i = 0; i < 400; i++) {
      const u = (i + 0.5) / 400;
      // skip draws within 1e-5 of an interval's edge, where float32 logits and float64 may disagree
      if (cdf.some((c) => Math.abs(c - u) < 1e-5)) continue;
      const want = order[cdf.findIndex((c) => u < c)];
      expect(nextToken(logits, o, fixed(u)), `u=${u}`).toBe(want);
    }
  });

  it.each(CASES)('seeded draws follow the distribution: %o', (o) => {
    const { order, probs } = distribution(LOGITS, o);
    const n = 20000;
    const counts = new Map<number, number>();
    const rng = new Rng(7);
    for (let i = 0; i < n; i++) {
      const t = nextToken(logits, o, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    for (const t of counts.keys()) expect(order, `token ${t} is outside the kept set`).toContain(t);
    order.forEach((t, k) => {
      // binomial count: within 5 standard deviations (a false alarm has probability < 1e-6 per token)
      const sd = Math.sqrt(n * probs[k] * (1 - probs[k]));
      expect(Math.abs((counts.get(t) ?? 0) - n * probs[k]), `token ${t}`).toBeLessThanOrEqual(5 * sd + 1e-9);
    });
  });

  it('refuses bad options before sampling', () => {
    expect(() => nextToken(logits, { doSample: true, temperature: 0 }, new Rng(0))).toThrow(/temperature must be a positive number, got 0/);
    expect(() => checkSamplingOptions({ topP: 0 })).toThrow(/topP must be in \(0, 1\], got 0/);
    expect(() => checkSamplingOptions({ topP: 1.01 })).toThrow(/topP must be in \(0, 1\], got 1.01/);
    expect(() => checkSamplingOptions({ topK: -1 })).toThrow(/topK must be a non-negative integer \(0: all tokens\), got -1/);
    expect(() => checkSamplingOptions({ topK: 2.5 })).toThrow(/topK must be a non-negative integer/);
    expect(() => checkSamplingOptions({ temperature: Infinity })).toThrow(/temperature must be a positive number/);
  });
});

describe('generate with sampling', () => {
  const config = hybridConfig({
    model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
    mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true, max_position_embeddings: 24, eos_token_id: null,
  });
  const model = new FalconH1ForCausalLM(config, 3);
  const prompt = tf.tensor2d([[5, 6, 7]], [1, 3], 'int32') as Tensor2D;
  const gen = async (seed: number, o: SamplingOptions = {}) => (await model.generate(prompt, { maxNewTokens: 16, doSample: true, temperature: 3, seed, ...o })).arraySync()[0];

  it('the same seed gives the same tokens, another seed others', async () => {
    const a = await gen(1);
    expect(await gen(1)).toEqual(a);
    expect(await gen(2)).not.toEqual(a); // 16 draws at temperature 3 over 40 tokens: equal by chance with probability ≪ 1e-6
    expect(a.slice(0, 3)).toEqual([5, 6, 7]);
  });

  it('refuses bad options and inputs before any work', async () => {
    await expect(gen(0, { topP: 0 })).rejects.toThrow(/^generate: topP must be in \(0, 1\], got 0$/);
    await expect(model.generate(prompt, { maxNewTokens: 22 })).rejects.toThrow(/generate: prompt \+ maxNewTokens: sequence length 25 is beyond the model's max_position_embeddings 24/);
    await expect(model.generate(tf.tensor2d([[5, 40]], [1, 2], 'int32') as Tensor2D, { maxNewTokens: 1 })).rejects.toThrow(/generate: token ids must be in \[0, 40\), found 40 at position 1/);
  });
});

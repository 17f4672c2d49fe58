// Trainer building blocks: AdamW against a hand-computed PyTorch-order update, the schedule,
// global-norm clipping, deterministic batches, and the byte tokenizer.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { expectClose } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig } from '../src/index.js';
import { AdamW } from '../src/train/adamw.js';
import { Trainer } from '../src/train/trainer.js';
import { clipByGlobalNorm } from '../src/train/clip.js';
import { TokenBatches } from '../src/train/data.js';
import { warmupCosine } from '../src/train/schedule.js';
import { ByteTokenizer } from '../src/tokenizer/byte.js';

describe('AdamW', () => {
  it('matches the PyTorch AdamW update over 3 steps, with group multipliers', () => {
    const p0 = [0.5, -1.0, 2.0];
    const gs = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.1, 0.2]];
    const lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1, lrMult = 0.5;
    const w = tf.variable(tf.tensor1d(p0));
    const opt = new AdamW({ w }, { betas: [b1, b2], eps, weightDecay: wd, groups: () => ({ lrMultiplier: lrMult }) });
    // hand-computed reference in float64
    const p = [...p0], m = [0, 0, 0], v = [0, 0, 0];
    gs.forEach((g, t) => {
      opt.step({ w: tf.tensor1d(g) }, lr);
      const plr = lr * lrMult;
      for (let i = 0; i < 3; i++) {
        p[i] *= 1 - plr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
        const mh = m[i] / (1 - b1 ** (t + 1)), vh = v[i] / (1 - b2 ** (t + 1));
        p[i] -= (plr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    expectClose(w, p, { rtol: 1e-6, atol: 1e-7, name: 'AdamW params' }); // f32 vs f64 over 3 steps
    expect(opt.stepCount).toBe(3);
    const st = opt.state();
    const w2 = tf.variable(tf.tensor1d(p0));
    const opt2 = new AdamW({ w: w2 }, { betas: [b1, b2] });
    opt2.loadState(st.tensors, st.step);
    expect(opt2.stepCount).toBe(3);
    expect(() => opt.step({ nope: tf.ones([3]) }, lr)).toThrow(/unknown parameter 'nope'/);
  });
});

describe('AdamW: ε placement and weight decay groups', () => {
  it('adds ε to √v̂ (torch semantics), not inside the root nor before bias correction', () => {
    // one step, no decay, lr 1: m̂ = g, v̂ = g², so the update is g / (|g| + ε). With ε ≫ |g| the
    // placements differ by factors of 3 or more: √(v̂ + ε) gives 0.0316, ε on the uncorrected √v
    // (Adam's "efficient" form) gives 0.0219, torch's m̂ / (√v̂ + ε) gives 0.0909.
    const g = [0.01, -0.002, 0.5];
    const eps = 0.1;
    const w = tf.variable(tf.zeros([3]));
    new AdamW({ w }, { eps, weightDecay: 0, betas: [0.9, 0.95] }).step({ w: tf.tensor1d(g) }, 1);
    const want = g.map((x) => -x / (Math.abs(x) + eps));
    expectClose(w, want, { rtol: 1e-6, atol: 0, name: 'update' }); // f32 of one division
    const dw = Array.from(w.dataSync());
    expect(Math.abs(dw[0] - -0.01 / Math.sqrt(1e-4 + eps))).toBeGreaterThan(0.05); // not ε inside the root
    expect(Math.abs(dw[0] - (-Math.sqrt(0.05) / 0.1) * (0.001 / (Math.sqrt(0.05) * 0.01 + eps)))).toBeGreaterThan(0.05); // nor before bias correction
  });

  it('the Trainer decays every 2-D weight and no 1-D parameter (norms, biases, A_log, D, dt_bias)', () => {
    const config = hybridConfig({
      model_type: 'falcon_h1', vocab_size: 20, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2,
      num_key_value_heads: 1, head_dim: 4, mamba_d_ssm: 8, mamba_n_heads: 2, mamba_d_head: 4, mamba_d_state: 4, mamba_chunk_size: 4,
      mamba_rms_norm: true, attention_bias: true, mlp_bias: true, projectors_bias: true,
    });
    const model = new FalconH1ForCausalLM(config, 0);
    const wd = 0.5;
    const lr = 0.1;
    const trainer = new Trainer(model, new TokenBatches(Int32Array.from({ length: 50 }, (_, i) => i % 20), 1, 4, 0), { steps: 1, lr, weightDecay: wd }, '/nonexistent');
    const vars = model.variables();
    const before = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    // zero gradients: the moments stay 0, so the Adam update is 0/(0 + ε) = 0 and only decay moves a weight
    const zero = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, tf.zerosLike(v)]));
    (trainer as unknown as { optimizer: AdamW }).optimizer.step(zero, lr);
    const oneD = Object.keys(vars).filter((k) => vars[k].rank <= 1);
    for (const k of ['model.final_layernorm.weight', 'model.layers.0.mamba.A_log', 'model.layers.0.mamba.D', 'model.layers.0.mamba.dt_bias', 'model.layers.0.mamba.norm.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.feed_forward.up_proj.bias']) {
      expect(oneD, k).toContain(k);
    }
    for (const [k, v] of Object.entries(vars)) {
      const got = v.dataSync();
      const factor = Math.fround(1 - lr * wd);
      const want = v.rank <= 1 ? before[k] : before[k].map((x) => Math.fround(x * factor));
      expect(Array.from(got), `${k} (rank ${v.rank})`).toEqual(Array.from(want)); // exact: one f32 multiply, or none
    }
    expect(Object.keys(vars).filter((k) => vars[k].rank === 2).length).toBeGreaterThan(5);
  });
});

describe('schedule and clipping', () => {
  it('warms up linearly and decays by cosine to the floor', () => {
    const o = { lr: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 };
    expect(warmupCosine(0, o)).toBeCloseTo(0.25);
    expect(warmupCosine(3, o)).toBeCloseTo(1);
    expect(warmupCosine(4, o)).toBeCloseTo(1);
    expect(warmupCosine(9, o)).toBeCloseTo(0.55);
    expect(warmupCosine(14, o)).toBeCloseTo(0.1);
    expect(warmupCosine(100, o)).toBeCloseTo(0.1);
  });
  it('clips by the global norm', () => {
    const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) }, 1);
    expect(norm).toBeCloseTo(5, 5);
    expectClose(grads.a, [0.6, 0], { rtol: 1e-5 });
    expectClose(grads.b, [0.8], { rtol: 1e-5 });
    const same = clipByGlobalNorm({ a: tf.tensor1d([0.3]) }, 1);
    expectClose(same.grads.a, [0.3]);
  });
});

describe('data and tokenizer', () => {
  it('batches depend only on (seed, step)', () => {
    const toks = Int32Array.from({ length: 500 }, (_, i) => i);
    const a = new TokenBatches(toks, 3, 16, 7), b = new TokenBatches(toks, 3, 16, 7);
    expect(Array.from(a.batch(5).inputIds.dataSync())).toEqual(Array.from(b.batch(5).inputIds.dataSync()));
    expect(Array.from(a.batch(5).inputIds.dataSync())).not.toEqual(Array.from(a.batch(6).inputIds.dataSync()));
    const row = Array.from(a.batch(2).inputIds.dataSync()).slice(0, 16);
    for (let i = 1; i < 16; i++) expect(row[i]).toBe(row[i - 1] + 1); // contiguous windows
    expect(() => new TokenBatches(toks.subarray(0, 10), 1, 16, 0)).toThrow(/fewer than one sequence/);
  });
  it('byte tokenizer round-trips UTF-8', () => {
    const t = new ByteTokenizer();
    const s = 'Falcon-H1 — état de l’art ✓';
    expect(t.decode(t.encode(s))).toBe(s);
    expect(Math.min(...t.encode(s))).toBeGreaterThanOrEqual(3);
    expect(t.decode([1, ...t.encode('hi'), 2, 0])).toBe('hi');
  });
});

// Trainer building blocks: AdamW against a hand-computed PyTorch-order update, the schedule,
// global-norm clipping, deterministic batches, and the byte tokenizer.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { expectClose } from '@falcon/tensor/testing';
import { AdamW } from '../src/train/adamw.js';
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

// The fused optimizer path of the trainer: AdamW through adamwStep against the tfjs-ops AdamW it
// replaced (clipping through globalNormClip against clipByGlobalNorm), the kernels an optimizer
// step dispatches, and Trainer.dispatchStep queuing a whole step without reading a float tensor.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { expectClose, randomTensor } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig, TokenBatches } from '../src/index.js';
import { AdamW } from '../src/train/adamw.js';
import { clipByGlobalNorm, globalGradNorm, globalNormClip } from '../src/train/clip.js';
import { Trainer } from '../src/train/trainer.js';

const [B1, B2, EPS, WD] = [0.9, 0.95, 1e-8, 0.1];
const SHAPES: Record<string, number[]> = { 'a.weight': [13, 7], 'a.bias': [7], 'b.weight': [5, 3, 2] };
const lrMult = (name: string) => (name.startsWith('b.') ? 0.5 : 1);
const wdMult = (name: string) => (SHAPES[name].length <= 1 ? 0 : 1);

/** The AdamW step as @falcon/hybrid wrote it before the fused op (about a dozen tfjs ops per parameter). */
function legacyStep(params: Record<string, Variable>, m: Record<string, Variable>, v: Record<string, Variable>, grads: Record<string, Tensor>, lr: number, t: number): void {
  const bc1 = 1 - B1 ** t;
  const bc2 = 1 - B2 ** t;
  tf.tidy(() => {
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      const plr = lr * lrMult(name);
      const wm = wdMult(name);
      m[name].assign(tf.add(tf.mul(m[name], B1), tf.mul(g, 1 - B1)));
      v[name].assign(tf.add(tf.mul(v[name], B2), tf.mul(tf.square(g), 1 - B2)));
      const update = tf.div(tf.div(m[name], bc1), tf.add(tf.sqrt(tf.div(v[name], bc2)), EPS));
      const decayed = WD * wm !== 0 ? tf.mul(p, 1 - plr * WD * wm) : p;
      p.assign(tf.sub(decayed, tf.mul(update, plr)));
    }
  });
}

function setup(seed: number) {
  const vars = (s: number) => Object.fromEntries(Object.entries(SHAPES).map(([k, sh], i) => [k, tf.variable(randomTensor(sh, s + i))])) as Record<string, Variable>;
  const zeros = () => Object.fromEntries(Object.entries(SHAPES).map(([k, sh]) => [k, tf.variable(tf.zeros(sh))])) as Record<string, Variable>;
  const fused = vars(seed);
  const legacy = vars(seed);
  const opt = new AdamW(fused, { betas: [B1, B2], eps: EPS, weightDecay: WD, groups: (n) => ({ lrMultiplier: lrMult(n), weightDecayMultiplier: wdMult(n) }) });
  return { fused, legacy, opt, m: zeros(), v: zeros() };
}

const gradsAt = (t: number, std: number) => Object.fromEntries(Object.entries(SHAPES).map(([k, sh], i) => [k, randomTensor(sh, 100 * t + i, { std })]));

describe('fused AdamW', () => {
  it('equals the tfjs-ops AdamW exactly over 6 steps (no clipping)', () => {
    const { fused, legacy, opt, m, v } = setup(1);
    for (let t = 1; t <= 6; t++) {
      const g = gradsAt(t, 0.5);
      opt.step(g, 1e-2 * t);
      legacyStep(legacy, m, v, g, 1e-2 * t, t);
    }
    // the cpu kernel rounds each operation to float32 as the tfjs ops do: bit-for-bit equal
    const st = opt.state().tensors;
    for (const k of Object.keys(SHAPES)) {
      expect(Array.from(fused[k].dataSync()), k).toEqual(Array.from(legacy[k].dataSync()));
      expect(Array.from(st[`m.${k}`].dataSync()), `m.${k}`).toEqual(Array.from(m[k].dataSync()));
      expect(Array.from(st[`v.${k}`].dataSync()), `v.${k}`).toEqual(Array.from(v[k].dataSync()));
    }
  });

  it('with device-side clipping equals clipByGlobalNorm + the tfjs-ops AdamW', () => {
    const { fused, legacy, opt, m, v } = setup(2);
    for (let t = 1; t <= 6; t++) {
      // norms ≈ 0.3·√130 ≈ 3.4 (clipped to 1) on odd steps, ≈ 0.03 (not clipped) on even ones
      const g = gradsAt(t, t % 2 ? 0.3 : 0.003);
      const { norm, scale } = globalNormClip(g, 1);
      const host = clipByGlobalNorm(g, 1);
      expect(norm.dataSync()[0]).toBe(Math.fround(host.norm));
      opt.step(g, 1e-2, scale);
      legacyStep(legacy, m, v, host.grads, 1e-2, t);
      tf.dispose([norm, scale, ...Object.values(host.grads)]);
    }
    // The coefficient min(1, maxNorm/(‖g‖+1e-6)) is computed in float32 on the device and in
    // float64 (then rounded) on the host: it may differ by 1 ulp (6e-8 relative), which moves m, v
    // and the update by as much. Over 6 steps: ≲ 1e-6 relative; atol 1e-9 for elements near 0.
    const st = opt.state().tensors;
    for (const k of Object.keys(SHAPES)) {
      expectClose(fused[k], legacy[k].dataSync(), { rtol: 1e-6, atol: 1e-9, name: k });
      expectClose(st[`m.${k}`], m[k].dataSync(), { rtol: 1e-6, atol: 1e-9, name: `m.${k}` });
      expectClose(st[`v.${k}`], v[k].dataSync(), { rtol: 1e-6, atol: 1e-12, name: `v.${k}` });
    }
  });

  it('an optimizer step with clipping dispatches 3 kernels per parameter plus a constant (was ≥ 13)', async () => {
    const { fused, legacy, opt, m, v } = setup(3);
    const g = gradsAt(1, 0.3);
    const P = Object.keys(SHAPES).length;
    // (tf.profile returns one shared object: copy the kernel names before the next profile)
    const kernels = async (f: () => void) => (await tf.profile(f)).kernels.map((k) => k.name);
    const fusedRun = await kernels(() => {
      const { norm, scale } = globalNormClip(g, 1);
      opt.step(g, 1e-2, scale);
      tf.dispose([norm, scale]);
    });
    const legacyRun = await kernels(() => {
      const c = clipByGlobalNorm(g, 1);
      legacyStep(legacy, m, v, c.grads, 1e-2, 1);
      tf.dispose(Object.values(c.grads));
    });
    // fused: Square + Sum per parameter, AddN + Sqrt + Add + RealDiv + Minimum, one FalconAdamwStep each
    expect(fusedRun.filter((k) => k === 'FalconAdamwStep')).toHaveLength(P);
    expect(fusedRun.length).toBeLessThanOrEqual(3 * P + 6);
    expect(legacyRun.length).toBeGreaterThanOrEqual(13 * P);
    expect(Object.keys(fused)).toHaveLength(P);
  });

  it('globalGradNorm: ‖g‖ over all gradients, 0 for none', () => {
    expect(globalGradNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) }).dataSync()[0]).toBeCloseTo(5, 6);
    expect(globalGradNorm({}).dataSync()[0]).toBe(0);
    expect(() => globalNormClip({}, 0)).toThrow(/maxNorm must be positive/);
  });
});

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 2, mamba_d_head: 16,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
};
const TOKENS = Int32Array.from({ length: 400 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));

describe('Trainer.dispatchStep', () => {
  it('queues whole steps without reading a float tensor, with the metrics trainStep reads', async () => {
    const make = () =>
      new Trainer(new FalconH1ForCausalLM(hybridConfig(CONFIG), 1), new TokenBatches(TOKENS, 2, 12, 5), { steps: 3, lr: 1e-2, accumulate: 2, clip: 0.5 }, mkdtempSync(join(tmpdir(), 'falcon-d-')));
    const a = make();
    const read = [];
    for (let s = 0; s < 3; s++) read.push(await a.trainStep());
    const b = make();
    // every read of tensor values by the code (not the cpu kernels' own access to their inputs)
    const reads: string[] = [];
    const proto = tf.Tensor.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const saved = Object.fromEntries(['dataSync', 'data', 'arraySync', 'array', 'bufferSync', 'buffer'].map((k) => [k, proto[k]]));
    for (const [k, fn] of Object.entries(saved)) {
      proto[k] = function (this: Tensor, ...args: unknown[]) {
        reads.push(`${k} ${this.dtype} [${this.shape}]`);
        return fn.apply(this, args);
      };
    }
    let pending;
    try {
      pending = [b.dispatchStep(), b.dispatchStep(), b.dispatchStep()];
    } finally {
      Object.assign(proto, saved);
    }
    // On cpu the model checks its int32 input ids on the host (checkInputIds; not on GPU backends); nothing else is read.
    expect(reads.filter((r) => !r.includes('int32'))).toEqual([]);
    for (let s = 0; s < 3; s++) {
      const p = pending[s];
      expect(p.step).toBe(s + 1);
      expect((await p.loss.data())[0]).toBe(read[s].loss);
      expect((await p.gradNorm.data())[0]).toBe(read[s].gradNorm);
      expect(p.lr).toBe(read[s].lr);
      tf.dispose([p.loss, p.gradNorm]);
    }
    const va = a.model.variables();
    const vb = b.model.variables();
    for (const k of Object.keys(va)) expect(Array.from(vb[k].dataSync()), k).toEqual(Array.from(va[k].dataSync()));
  });
});

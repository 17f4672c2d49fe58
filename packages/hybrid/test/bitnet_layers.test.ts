// BitNet b1.58 layers per module type in the hybrid model: each flag quantises its module's
// projections (ternary weights exactly, activations to within 8-bit rounding), gradients flow
// through them (straight-through estimator), and a tiny all-BitNet model learns and round-trips
// through savePretrained.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { weightQuant } from '@falcon/bitnet';
import { tf } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig, TokenBatches } from '../src/index.js';
import type { BitNetLayers } from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 2, mamba_d_head: 16,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
};
const ids = tf.tensor2d(Array.from({ length: 24 }, (_, i) => 3 + ((i * 5) % 31)), [2, 12], 'int32');

/** The variables each flag quantises (internal names). */
const QUANTISED: Record<keyof BitNetLayers, RegExp> = {
  attention: /self_attn\.[qkv]_proj\.weight$/,
  mamba: /mamba\.in_proj\.weight$/,
  mlp: /feed_forward\.(gate|up|down)_proj\.weight$/,
  outProj: /fused_out_proj\.weight$/,
};

describe('BitNet layers per module type', () => {
  const plain = new FalconH1ForCausalLM(hybridConfig(CONFIG), 3);
  const ref = plain.forward(ids).logits;
  for (const kind of ['attention', 'mamba', 'mlp', 'outProj'] as (keyof BitNetLayers)[]) {
    it(`${kind}: quantises that module's weights to absmean ternary and its inputs to 8 bits, and keeps gradients`, () => {
      const model = new FalconH1ForCausalLM(hybridConfig(CONFIG, { bitnet: { [kind]: true } }), 3);
      const out = model.forward(ids).logits;
      // The same plain model with exactly those weights replaced by their ternary values γ·round(clip(W/γ, −1, 1)):
      // what is left is the 8-bit absmax activation quantisation, whose error per element is at most
      // max|x_row|/254, i.e. a relative RMS error of (max/rms)/(127·√12) ≈ 0.006 per projection for
      // rows of 32–48 roughly Gaussian values (max/rms ≈ 2.5); through two layers ≈ 0.01 (measured
      // 0.002–0.011) → 0.03. Without the ternary weights the logits move by half their norm or more
      // (absmean ternary weights of a Gaussian matrix have a relative error ≈ 0.5; measured 0.48–0.78) → > 0.2.
      const weightsOnly = new FalconH1ForCausalLM(hybridConfig(CONFIG), 3);
      const quantised = Object.entries(weightsOnly.variables()).filter(([k]) => QUANTISED[kind].test(k));
      expect(quantised.length).toBe(kind === 'attention' ? 6 : kind === 'mlp' ? 6 : 2);
      for (const [, v] of quantised) v.assign(weightQuant(v).y);
      expect(relativeError(out, weightsOnly.forward(ids).logits)).toBeLessThan(0.03);
      expect(relativeError(out, ref)).toBeGreaterThan(0.2);
      const { grads } = model.valueAndVariableGrads(ids);
      const names: Record<string, string> = { attention: 'self_attn.q_proj.weight', mamba: 'mamba.in_proj.weight', mlp: 'feed_forward.up_proj.weight', outProj: 'fused_out_proj.weight' };
      const g = grads[`model.layers.0.${names[kind]}`];
      expect(tf.norm(g).dataSync()[0]).toBeGreaterThan(0); // straight-through estimator
    });
  }
  it('a model with every BitNet layer trains, and its config round-trips', async () => {
    const config = hybridConfig(CONFIG, { bitnet: { attention: true, mamba: true, mlp: true, outProj: true } });
    const model = new FalconH1ForCausalLM(config, 1);
    const tokens = Int32Array.from({ length: 400 }, (_, i) => 3 + ((i * 7) % 11));
    const dir = mkdtempSync(join(tmpdir(), 'falcon-bitnet-'));
    const t = new Trainer(model, new TokenBatches(tokens, 2, 12, 1), { steps: 12, lr: 1e-2, warmupSteps: 1 }, dir);
    const losses = (await t.run()).map((m) => m.loss);
    expect(losses[11]).toBeLessThan(losses[0] * 0.85); // 12 AdamW steps on a periodic stream
    const back = await FalconH1ForCausalLM.fromPretrained(dir);
    expect(back.config.bitnet).toEqual(config.bitnet);
    expect(relativeError(back.forward(ids).logits, model.forward(ids).logits)).toBe(0);
  });
});

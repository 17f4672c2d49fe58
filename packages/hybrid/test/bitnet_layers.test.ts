// BitNet b1.58 layers per module type in the hybrid model: each flag quantises its module's
// projections (the output changes, within reason), gradients flow through them (straight-through
// estimator), and a tiny all-BitNet model learns and round-trips through savePretrained.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

describe('BitNet layers per module type', () => {
  const plain = new FalconH1ForCausalLM(hybridConfig(CONFIG), 3);
  const ref = plain.forward(ids).logits;
  for (const kind of ['attention', 'mamba', 'mlp', 'outProj'] as (keyof BitNetLayers)[]) {
    it(`${kind}: quantises that module and keeps gradients`, () => {
      const model = new FalconH1ForCausalLM(hybridConfig(CONFIG, { bitnet: { [kind]: true } }), 3);
      const out = model.forward(ids).logits;
      const diff = relativeError(out, ref);
      expect(diff).toBeGreaterThan(1e-3); // ternary weights change the function...
      expect(diff).toBeLessThan(1); // ...but not beyond recognition
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

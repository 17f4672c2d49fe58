// The trainer: the loss falls, a run stopped and resumed gives exactly the losses of an
// uninterrupted one, accumulation and recomputation give the same gradients as plain steps.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig, TokenBatches } from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 2, mamba_d_head: 16,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
  embedding_multiplier: 1.5, ssm_multipliers: [1.1, 0.9, 1, 1, 1.2],
};
// a repetitive stream the model can learn quickly
const TOKENS = Int32Array.from({ length: 600 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));

function run(dir: string, steps: number) {
  const model = new FalconH1ForCausalLM(hybridConfig(CONFIG), 1);
  return new Trainer(model, new TokenBatches(TOKENS, 2, 12, 5), { steps, lr: 1e-2, warmupSteps: 2, saveEvery: 100 }, dir);
}

describe('Trainer', () => {
  it('reduces the loss and resumes exactly', async () => {
    const a = run(mkdtempSync(join(tmpdir(), 'falcon-a-')), 8);
    const straight = (await a.run()).map((m) => m.loss);
    expect(straight[7]).toBeLessThan(straight[0] * 0.8); // 8 AdamW steps at lr 1e-2 on a periodic stream

    const dirB = mkdtempSync(join(tmpdir(), 'falcon-b-'));
    const b = run(dirB, 8);
    const firstHalf = (await b.run(undefined, 4)).map((m) => m.loss);
    const resumedModel = await FalconH1ForCausalLM.fromPretrained(dirB);
    const b2 = new Trainer(resumedModel, new TokenBatches(TOKENS, 2, 12, 5), b.options, dirB);
    await b2.restore();
    expect(b2.step).toBe(4);
    const secondHalf = (await b2.run()).map((m) => m.loss);
    // exact: same float32 operations in the same order on the same data
    expect([...firstHalf, ...secondHalf]).toEqual(straight);
  });

  it('dispose() frees the optimizer state: a model and its trainer leave no tensor behind', async () => {
    const before = tf.memory();
    const model = new FalconH1ForCausalLM(hybridConfig(CONFIG), 3);
    const paramBytes = Object.values(model.variables()).reduce((n, v) => n + 4 * v.size, 0);
    const withModel = tf.memory().numBytes; // the parameters and the model's constants (μP vectors)
    const t = new Trainer(model, new TokenBatches(TOKENS, 2, 12, 5), { steps: 2, lr: 1e-2 }, mkdtempSync(join(tmpdir(), 'falcon-dispose-')));
    await t.trainStep();
    // AdamW's two moments are all the memory a step adds (no initial value outlives its variable)
    expect(tf.memory().numBytes - withModel).toBe(2 * paramBytes);
    t.dispose();
    model.dispose();
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(tf.memory().numTensors).toBe(before.numTensors);
  });

  it('recomputation gives the same gradients as storing activations', () => {
    const model = new FalconH1ForCausalLM(hybridConfig(CONFIG), 2);
    const ids = tf.tensor2d(Array.from(TOKENS.subarray(0, 24)), [2, 12], 'int32');
    const plain = model.valueAndVariableGrads(ids);
    for (const policy of ['attention', 'mamba', 'both', 'layer'] as const) {
      const rec = model.valueAndVariableGrads(ids, { recompute: policy });
      expect(rec.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0], 6);
      for (const k of Object.keys(plain.grads)) expect(relativeError(rec.grads[k], plain.grads[k]), `${policy}: ${k}`).toBeLessThan(1e-5);
    }
  });
});

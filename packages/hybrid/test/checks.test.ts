// Checks before allocation: modelSize counts exactly the parameters a model gets (so the size limit
// is about the real model), absurd configs are refused by hybridConfig before any layer exists,
// forward refuses sequences beyond max_position_embeddings and ids outside the vocabulary, and
// fromPretrained names a weight stored with a non-float dtype.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors, writeSafetensors } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { checkModelSize, FalconH1ForCausalLM, hybridConfig, modelSize } from '../src/index.js';

const BASE = {
  model_type: 'falcon_h1', vocab_size: 37, hidden_size: 12, intermediate_size: 20, num_hidden_layers: 2,
  num_attention_heads: 3, num_key_value_heads: 1, head_dim: 4, mamba_d_ssm: 12, mamba_n_heads: 3, mamba_d_head: 4,
  mamba_d_state: 5, mamba_chunk_size: 4, max_position_embeddings: 16,
};

describe('modelSize', () => {
  it.each([
    ['tied, no biases', { tie_word_embeddings: true }],
    ['untied, every bias, gated norm', { tie_word_embeddings: false, attention_bias: true, mlp_bias: true, projectors_bias: true, mamba_proj_bias: true, mamba_rms_norm: true }],
    ['no conv bias, 2 groups', { mamba_conv_bias: false, mamba_n_groups: 3, num_key_value_heads: 3 }],
  ])('%s: equals the parameters of the model built from the config', (_, extra) => {
    const config = hybridConfig({ ...BASE, ...extra });
    const model = new FalconH1ForCausalLM(config, 0);
    const count = [...model.stateDictShapes().values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(modelSize(config.base).parameters).toBe(count);
    model.dispose();
  });

  it('refuses absurd sizes before building anything', () => {
    const t0 = performance.now();
    expect(() => hybridConfig({ ...BASE, num_hidden_layers: 1e9 }, { source: 'huge/config.json' })).toThrow(
      /^huge\/config.json: the model would have 1\.\d+e\+12 parameters \(\d+ GiB as float32\), more than this machine's .* GiB of memory \(num_hidden_layers 1000000000, hidden_size 12/,
    );
    expect(performance.now() - t0).toBeLessThan(1000); // no billion-entry layer list
    expect(() => checkModelSize(hybridConfig(BASE).base, 'x', 1000)).toThrow(/^x: the model would have .* more than this machine's 9.31e-7 GiB of memory/);
    expect(() => hybridConfig({ ...BASE, vocab_size: 2 ** 28, hidden_size: 16 })).toThrow(/^config: model.embed_tokens.weight would hold 4.295e\+9 elements, more than the 2147483647 one tensor can index/);
  });
});

describe('fromPretrained dtype checks', () => {
  it('names the tensor stored with a dtype the weights cannot have', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcon-dtype-'));
    await new FalconH1ForCausalLM(hybridConfig(BASE), 1).savePretrained(dir);
    const tensors = await loadSafetensors(join(dir, 'model.safetensors'));
    tensors.set('model.final_layernorm.weight', tf.cast(tensors.get('model.final_layernorm.weight')!, 'int32'));
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    await expect(FalconH1ForCausalLM.fromPretrained(dir)).rejects.toThrow(
      `checkpoint in ${dir}: tensor 'model.final_layernorm.weight' is stored as I32, but the model's weights are floats (F32, F16, BF16, F64)`,
    );
  });
});

describe('forward input checks', () => {
  const model = new FalconH1ForCausalLM(hybridConfig(BASE), 1);
  it('refuses a sequence beyond max_position_embeddings and ids outside the vocabulary', () => {
    const ids = (row: number[]) => tf.tensor2d([row], [1, row.length], 'int32') as Tensor2D;
    expect(model.forward(ids(Array.from({ length: 16 }, (_, i) => i))).logits.shape).toEqual([1, 16, 37]);
    expect(() => model.forward(ids(Array.from({ length: 17 }, (_, i) => i)))).toThrow(/^forward: sequence length 17 is beyond the model's max_position_embeddings 16$/);
    expect(() => model.forward(ids([1, 37, 2]))).toThrow(/^forward: token ids must be in \[0, 37\), found 37 at position 1$/);
    expect(() => model.valueAndGrads(ids([1, -1, 2]))).toThrow(/^forward: token ids must be in \[0, 37\), found -1 at position 1$/);
  });
});

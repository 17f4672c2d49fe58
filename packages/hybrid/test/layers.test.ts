// Per-layer head counts: a pure-attention layer and a pure-Mamba-2 layer, checked against the
// transformers fixture whose layer 0 has Mamba-2's out_proj zeroed and layer 1 attention's o_proj zeroed.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig } from '../src/index.js';
import { fixtureDir, readFixture } from './fixtures.js';

describe('per-layer head counts', () => {
  it('a pure attention layer and a pure Mamba-2 layer reproduce the zeroed-branch fixture', async () => {
    const dir = fixtureDir('falcon-h1-split-layers');
    const model = await FalconH1ForCausalLM.fromPretrained(dir, {
      layers: [
        { attentionHeads: 4, kvHeads: 2, mambaHeads: 0 },
        { attentionHeads: 0, kvHeads: 0, mambaHeads: 8 },
      ],
    });
    expect(model.layers[0].mamba).toBeUndefined();
    expect(model.layers[1].attention).toBeUndefined();
    const ref = await readFixture('falcon-h1-split-layers', 'reference.safetensors');
    const ids = ref.get('input_ids') as Tensor2D;
    const out = model.forward(ids, { labels: ids });
    expect(relativeError(out.logits, ref.get('logits')!)).toBeLessThan(1e-4); // float32, as the parity test
    const { grads } = model.valueAndGrads(ids);
    expect(Object.keys(grads).some((k) => k.startsWith('model.layers.0.mamba.'))).toBe(false);
    expect(relativeError(grads['model.layers.1.mamba.in_proj.weight'], ref.get('grad.model.layers.1.mamba.in_proj.weight')!)).toBeLessThan(1e-3);
    tf.dispose([out.logits, out.loss!, ...Object.values(grads), ...ref.values()]);
  });

  it('rejects layers without heads and heads that do not divide', () => {
    const base = { model_type: 'falcon_h1', vocab_size: 10, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, mamba_n_heads: 2, mamba_d_head: 4, mamba_d_ssm: 8, mamba_n_groups: 2, mamba_d_state: 4 };
    expect(() => hybridConfig(base, { layers: [{ attentionHeads: 0, kvHeads: 0, mambaHeads: 0 }, { attentionHeads: 3, kvHeads: 2, mambaHeads: 3 }] })).toThrow(
      /layer 0 has neither attention nor Mamba-2 heads; layer 1: attention heads \(3\) must be a multiple of KV heads \(2\); layer 1: Mamba-2 heads \(3\) must be divisible by mamba_n_groups \(2\)/,
    );
    expect(() => hybridConfig({ ...base, model_type: 'llama' })).toThrow(/model_type must be 'falcon_h1'/);
  });
});

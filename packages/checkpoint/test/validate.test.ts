// Checking a checkpoint's tensors against its config: the fixtures pass; configs that disagree
// with them produce one clear line per missing, unexpected or wrongly shaped tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointMismatchError, checkCheckpoint, expectedTensorShapes, openCheckpoint, parseConfig, readConfig, validateCheckpoint } from '../src/index.js';
import type { FalconH1Config, HFConfig } from '../src/index.js';
import { fixture } from './fixtures.js';

let falcon: FalconH1Config;
let falconShapes: Map<string, readonly number[]>;
let llama: HFConfig;
let llamaShapes: Map<string, readonly number[]>;

beforeAll(async () => {
  falcon = (await readConfig(fixture('falcon-h1-tiny'))) as FalconH1Config;
  llama = await readConfig(fixture('llama-tiny'));
  const f = await openCheckpoint(fixture('falcon-h1-tiny'));
  falconShapes = f.shapes();
  await f.close();
  const l = await openCheckpoint(fixture('llama-tiny'));
  llamaShapes = l.shapes();
  await l.close();
});

const variant = (changes: object) => parseConfig({ ...falcon, ...changes }) as FalconH1Config;
const messages = (config: HFConfig, shapes = falconShapes) => checkCheckpoint(config, shapes).map((m) => m.message);

describe('the fixtures match their configs', () => {
  it('falcon-h1-tiny and llama-tiny pass, given maps, plain objects or readers', async () => {
    validateCheckpoint(falcon, falconShapes);
    validateCheckpoint(llama, llamaShapes);
    validateCheckpoint(falcon, Object.fromEntries(falconShapes));
    const reader = await openCheckpoint(fixture('falcon-h1-tiny', 'model.safetensors'));
    validateCheckpoint(falcon, reader);
    await reader.close();
    expect(expectedTensorShapes(falcon).size).toBe(37);
    expect(expectedTensorShapes(llama).size).toBe(21);
  });
});

describe('mismatches', () => {
  it('mamba_rms_norm off: the norms are unexpected, and say why', () => {
    expect(messages(variant({ mamba_rms_norm: false }))).toEqual([
      "unexpected tensor 'model.layers.0.mamba.norm.weight' [64] (present, but mamba_rms_norm is false)",
      "unexpected tensor 'model.layers.1.mamba.norm.weight' [64] (present, but mamba_rms_norm is false)",
    ]);
  });

  it('bias flags on: each bias is missing, with its flag', () => {
    const m = messages(variant({ attention_bias: true, mlp_bias: true, mamba_proj_bias: true, projectors_bias: true, mamba_conv_bias: false }));
    expect(m).toHaveLength(2 * (4 + 3 + 1 + 1) + 2);
    expect(m).toContain("missing tensor 'model.layers.0.self_attn.q_proj.bias' [64] (attention_bias is true)");
    expect(m).toContain("missing tensor 'model.layers.1.self_attn.k_proj.bias' [32] (attention_bias is true)");
    expect(m).toContain("missing tensor 'model.layers.0.feed_forward.down_proj.bias' [64] (mlp_bias is true)");
    expect(m).toContain("missing tensor 'model.layers.0.mamba.in_proj.bias' [168] (mamba_proj_bias is true)");
    expect(m).toContain("missing tensor 'model.layers.1.mamba.out_proj.bias' [64] (projectors_bias is true)");
    expect(m).toContain("unexpected tensor 'model.layers.0.mamba.conv1d.bias' [96] (present, but mamba_conv_bias is false)");
  });

  it('tied embeddings: lm_head may be absent, or present with its shape; untied: it must be there', () => {
    const tied = variant({ tie_word_embeddings: true });
    expect(messages(tied)).toEqual([]);
    const noHead = new Map(falconShapes);
    noHead.delete('lm_head.weight');
    expect(messages(tied, noHead)).toEqual([]);
    expect(messages(falcon, noHead)).toEqual(["missing tensor 'lm_head.weight' [128, 64] (tie_word_embeddings is false)"]);
  });

  it('wrong sizes: every wrong shape with the spec formula', () => {
    const m = checkCheckpoint(variant({ vocab_size: 256, mamba_n_groups: 2, num_key_value_heads: 4 }), falconShapes);
    expect(m.every((x) => x.kind === 'shape')).toBe(true);
    const text = m.map((x) => x.message);
    expect(text).toContain("tensor 'model.embed_tokens.weight' has shape [128, 64], expected [256, 64] = [V, d]");
    expect(text).toContain("tensor 'model.layers.0.mamba.in_proj.weight' has shape [168, 64], expected [200, 64] = [d_ssm + conv_dim + h, d]");
    expect(text).toContain("tensor 'model.layers.1.mamba.conv1d.weight' has shape [96, 1, 4], expected [128, 1, 4] = [conv_dim, 1, k]");
    expect(text).toContain("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [32, 64], expected [64, 64] = [Hkv·hd, d]");
    expect(m.find((x) => x.name === 'lm_head.weight')).toMatchObject({ expected: [256, 64], actual: [128, 64] });
  });

  it('fewer layers in the config, and a stray tensor', () => {
    const shapes = new Map(falconShapes).set('model.vision.weight', [3]);
    const m = messages(variant({ num_hidden_layers: 1 }), shapes);
    expect(m).toHaveLength(17 + 1);
    expect(m).toContain("unexpected tensor 'model.layers.1.mamba.A_log' [8] (layer 1, but num_hidden_layers is 1)");
    expect(m).toContain("unexpected tensor 'model.vision.weight' [3] (not a parameter of a falcon_h1 model)");
    expect(checkCheckpoint(falcon, shapes, { ignoreUnexpected: (n) => n.startsWith('model.vision.') })).toEqual([]);
    expect(checkCheckpoint(falcon, shapes, { ignoreUnexpected: true })).toEqual([]);
  });

  it('more layers in the config; `only` limits what must be present', () => {
    const three = variant({ num_hidden_layers: 3 });
    expect(messages(three)).toHaveLength(17);
    expect(checkCheckpoint(three, falconShapes, { only: (n) => !n.startsWith('model.layers.2.') })).toEqual([]);
  });

  it('llama: old rotary inv_freq buffers are ignored; Falcon names in a Llama checkpoint are not', () => {
    const shapes = new Map(llamaShapes).set('model.layers.0.self_attn.rotary_emb.inv_freq', [8]);
    expect(messages(llama, shapes)).toEqual([]);
    expect(messages(llama, falconShapes)).toContain("missing tensor 'model.norm.weight' [64]");
  });

  it('validateCheckpoint throws one error listing them all', () => {
    const e = (() => {
      try {
        validateCheckpoint(variant({ mamba_rms_norm: false, mlp_bias: true }), falconShapes, { what: 'checkpoint /models/tiny' });
      } catch (x) {
        return x as CheckpointMismatchError;
      }
    })();
    expect(e).toBeInstanceOf(CheckpointMismatchError);
    expect(e!.mismatches).toHaveLength(8);
    expect(e!.message).toMatch(/^checkpoint \/models\/tiny does not match its config: 8 mismatches:\n {2}- missing tensor 'model.layers.0.feed_forward.gate_proj.bias' \[96\] \(mlp_bias is true\)\n/);
    expect(e!.message).toContain("  - unexpected tensor 'model.layers.1.mamba.norm.weight' [64] (present, but mamba_rms_norm is false)");
  });
});

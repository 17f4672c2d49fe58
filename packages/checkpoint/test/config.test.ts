// Parsing Hugging Face config.json: the fixtures, transformers 5.17 defaults, legacy RoPE keys,
// Infinity, unknown keys, and writing back exactly what transformers writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configToJson, falconH1Dims, headDim, parseConfig, readConfig, writeConfig } from '../src/index.js';
import type { FalconH1Config, LlamaConfig } from '../src/index.js';
import { fixture, tempDir } from './fixtures.js';

const core = { vocab_size: 128, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4 };
const falcon = (extra: object = {}) =>
  parseConfig({ model_type: 'falcon_h1', ...core, num_key_value_heads: 2, mamba_d_ssm: 64, mamba_n_heads: 8, mamba_d_state: 16, ...extra }) as FalconH1Config;
const llama = (extra: object = {}) => parseConfig({ model_type: 'llama', ...core, ...extra }) as LlamaConfig;

describe('the fixtures', () => {
  it('falcon-h1-tiny parses with its values and derived sizes', async () => {
    const c = (await readConfig(fixture('falcon-h1-tiny'))) as FalconH1Config;
    expect(c.model_type).toBe('falcon_h1');
    expect(c).toMatchObject({ hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, mamba_d_ssm: 64, mamba_n_heads: 8, mamba_d_head: 8 });
    expect(c).toMatchObject({ mamba_rms_norm: true, mamba_norm_before_gate: false, mamba_chunk_size: 16, lm_head_multiplier: 0.5, key_multiplier: 1.5 });
    expect(c.mlp_multipliers).toEqual([1.3, 0.7]);
    expect(c.ssm_multipliers).toEqual([1.1, 0.9, 1.2, 0.8, 1.05]);
    expect(c.time_step_limit).toEqual([0, Infinity]);
    expect(c.rope_parameters).toEqual({ rope_type: 'default', rope_theta: 10000 });
    expect(c.architectures).toEqual(['FalconH1ForCausalLM']);
    expect(c.dtype).toBe('float32');
    expect(c.extra).toEqual({});
    expect(falconH1Dims(c)).toEqual({
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      d_ssm: 64,
      mamba_n_heads: 8,
      mamba_d_head: 8,
      mamba_n_groups: 1,
      mamba_d_state: 16,
      conv_dim: 96,
      in_proj_dim: 168,
    });
    expect(headDim(c)).toBe(16);
  });

  it('llama-tiny parses', async () => {
    const c = (await readConfig(fixture('llama-tiny', 'config.json'))) as LlamaConfig;
    expect(c).toMatchObject({ model_type: 'llama', head_dim: 16, num_key_value_heads: 2, rms_norm_eps: 1e-6, pad_token_id: null, pretraining_tp: 1 });
    expect(c.rope_parameters).toEqual({ rope_type: 'default', rope_theta: 10000 });
  });

  it('configToJson gives back both fixture files byte for byte', async () => {
    for (const p of [fixture('falcon-h1-tiny', 'config.json'), fixture('llama-tiny', 'config.json')]) {
      expect(configToJson(await readConfig(p))).toBe(readFileSync(p, 'utf8'));
    }
  });
});

describe('defaults', () => {
  it('a bare falcon_h1 config gets transformers 5.17 defaults, and writes what transformers writes', () => {
    // data/falcon_h1_defaults.json: FalconH1Config().to_json_string(use_diff=True) of transformers 5.17
    const file = fileURLToPath(new URL('./data/falcon_h1_defaults.json', import.meta.url));
    const c = parseConfig({ model_type: 'falcon_h1', vocab_size: 128000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, transformers_version: '5.17.0' });
    expect(configToJson(c)).toBe(readFileSync(file, 'utf8'));
    expect(c).toMatchObject({ mamba_d_head: 8, num_key_value_heads: 8, mamba_norm_before_gate: true, mamba_rms_norm: false, mamba_conv_bias: true, head_dim: null });
    expect(parseConfig(readFileSync(file, 'utf8'))).toEqual(c);
  });

  it('a bare llama config gets transformers 5.17 defaults', () => {
    const c = llama();
    expect(c).toMatchObject({
      num_key_value_heads: 4,
      head_dim: 16,
      hidden_act: 'silu',
      max_position_embeddings: 2048,
      initializer_range: 0.02,
      rms_norm_eps: 1e-6,
      use_cache: true,
      pad_token_id: null,
      bos_token_id: 1,
      eos_token_id: 2,
      pretraining_tp: 1,
      tie_word_embeddings: false,
      attention_bias: false,
      attention_dropout: 0,
      mlp_bias: false,
      rope_parameters: { rope_type: 'default', rope_theta: 10000 },
    });
  });

  it('mamba_d_ssm null means mamba_expand · hidden_size', () => {
    const c = falcon({ mamba_d_ssm: null, mamba_expand: 3, mamba_n_heads: 12, mamba_d_state: 8, mamba_n_groups: 2 });
    expect(c.mamba_d_head).toBe(16);
    expect(falconH1Dims(c)).toMatchObject({ d_ssm: 192, conv_dim: 192 + 32, in_proj_dim: 192 + 224 + 12 });
  });
});

describe('normalisation', () => {
  it('moves legacy rope_theta and rope_scaling into rope_parameters', () => {
    expect(llama({ rope_theta: 500000, rope_scaling: { type: 'linear', factor: 2.0 } }).rope_parameters).toEqual({ rope_type: 'linear', rope_theta: 500000, factor: 2 });
    expect(falcon({ rope_theta: 1e11, rope_scaling: null }).rope_parameters).toEqual({ rope_type: 'default', rope_theta: 1e11 });
    expect(llama({ rope_parameters: { rope_type: 'default', rope_theta: 7 }, rope_theta: 9 }).rope_parameters.rope_theta).toBe(7);
    const l3 = { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0 };
    expect(llama({ rope_scaling: l3, max_position_embeddings: 4096 }).rope_parameters.original_max_position_embeddings).toBe(4096);
    expect(llama({ rope_scaling: l3, original_max_position_embeddings: 8192 }).rope_parameters.original_max_position_embeddings).toBe(8192);
    expect(configToJson(llama({ rope_theta: 500000 }))).toContain('"rope_theta": 500000.0');
  });

  it('reads bare Infinity and the __float__ form; keeps unknown keys; reads torch_dtype as dtype', () => {
    const text = `{"model_type": "falcon_h1", "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": null, "mamba_d_ssm": 64, "mamba_n_heads": 8, "time_step_limit": [0.0, Infinity], "torch_dtype": "bfloat16", "note": "Infinity stays a string", "router": {"k": [1, 2]}}`;
    const c = parseConfig(text) as FalconH1Config;
    expect(c.time_step_limit).toEqual([0, Infinity]);
    expect(c.dtype).toBe('bfloat16');
    expect(c.extra).toEqual({ note: 'Infinity stays a string', router: { k: [1, 2] } });
    const again = parseConfig(configToJson(c));
    expect(again).toEqual(c);
    // a parsed config, edited and parsed again, keeps its extra keys
    expect(parseConfig({ ...c, num_hidden_layers: 3 })).toEqual({ ...c, num_hidden_layers: 3 });
    expect(configToJson(c)).toContain('"note": "Infinity stays a string"');
  });

  it('writes and reads config.json atomically', async () => {
    const dir = tempDir();
    const c = falcon({ tie_word_embeddings: true, key_multiplier: 0.25 });
    expect(await writeConfig(dir, c)).toBe(join(dir, 'config.json'));
    expect(await readConfig(dir)).toEqual(c);
  });
});

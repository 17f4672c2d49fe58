// Configs that must be refused: every problem is listed in one ConfigError, with the field, what
// was expected and what was found, and the file when read from disk.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, readConfig } from '../src/index.js';
import { tempDir } from './fixtures.js';

const core = { vocab_size: 128, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4 };
const tinyFalcon = { model_type: 'falcon_h1', ...core, num_key_value_heads: 2, mamba_d_ssm: 64, mamba_n_heads: 8, mamba_d_state: 16 };

function problems(input: object | string): string[] {
  try {
    parseConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('parseConfig accepted it');
}

describe('refused configs', () => {
  it('an unknown or missing model_type', () => {
    expect(problems({ model_type: 'mamba2', ...core })).toEqual(['unknown model_type "mamba2" (supported: falcon_h1, llama)']);
    expect(problems(core)).toEqual(['model_type is missing (supported: falcon_h1, llama)']);
  });

  it('not JSON, or not an object', () => {
    expect(problems('{"model_type": "llama",')[0]).toMatch(/^not valid JSON/);
    expect(problems('[1, 2]')).toEqual(['expected a JSON object, got [1,2]']);
  });

  it('every missing required field at once', () => {
    expect(problems({ model_type: 'llama' })).toEqual([
      'vocab_size: required field is missing',
      'hidden_size: required field is missing',
      'intermediate_size: required field is missing',
      'num_hidden_layers: required field is missing',
      'num_attention_heads: required field is missing',
    ]);
  });

  it('wrong types', () => {
    const p = problems({
      ...tinyFalcon,
      hidden_size: '64',
      mamba_rms_norm: 'yes',
      mlp_multipliers: [1],
      ssm_multipliers: [1, 1, 1, 1],
      eos_token_id: '2',
      rms_norm_eps: 0,
      num_hidden_layers: 2.5,
      architectures: 'FalconH1',
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'hidden_size: expected a positive integer, got "64"',
        'mamba_rms_norm: expected true or false, got "yes"',
        'mlp_multipliers: expected an array of 2 finite numbers or null, got [1]',
        'ssm_multipliers: expected an array of 5 finite numbers or null, got [1,1,1,1]',
        'eos_token_id: expected an integer, a list of integers, or null, got "2"',
        'rms_norm_eps: expected a positive number, got 0',
        'num_hidden_layers: expected a positive integer, got 2.5',
        'architectures: expected an array of strings, got "FalconH1"',
      ]),
    );
  });

  it('bad RoPE settings', () => {
    expect(problems({ model_type: 'llama', ...core, rope_parameters: { rope_type: 'spiral', rope_theta: 10 } })).toEqual([
      'rope_parameters.rope_type: expected one of default, linear, dynamic, yarn, longrope, llama3, got "spiral"',
    ]);
    expect(problems({ model_type: 'llama', ...core, rope_theta: -1 })).toEqual(['rope_parameters.rope_theta: expected a positive number, got -1']);
    expect(problems({ model_type: 'llama', ...core, rope_scaling: { type: 'linear' } })).toEqual(["rope_parameters.factor: required for rope_type 'linear' but missing"]);
    expect(problems({ model_type: 'llama', ...core, rope_scaling: { type: 'dynamic', factor: 0.5 } })).toEqual(['rope_parameters.factor: expected a number ≥ 1, got 0.5']);
  });

  it('attention head counts that do not divide', () => {
    expect(problems({ model_type: 'llama', ...core, num_attention_heads: 6 })).toEqual([
      'hidden_size (64) is not a multiple of num_attention_heads (6), and no head_dim is given',
    ]);
    expect(problems({ model_type: 'llama', ...core, num_key_value_heads: 3 })).toEqual(['num_attention_heads (4) is not a multiple of num_key_value_heads (3)']);
    expect(problems({ ...tinyFalcon, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 15 })).toEqual([
      'head_dim (15) must be even: RoPE rotates the two halves of each head',
    ]);
    // an explicit head_dim lifts the hidden_size divisibility requirement
    expect(parseConfig({ ...tinyFalcon, num_attention_heads: 6, num_key_value_heads: 3, head_dim: 16 }).num_attention_heads).toBe(6);
  });

  it('Mamba head counts that do not fit', () => {
    expect(problems({ ...tinyFalcon, mamba_n_groups: 3 })).toEqual(['mamba_n_heads (8) is not a multiple of mamba_n_groups (3)']);
    expect(problems({ ...tinyFalcon, mamba_d_head: 16 })).toEqual(['mamba_d_head (16) × mamba_n_heads (8) = 128, but d_ssm is 64']);
    expect(problems({ ...tinyFalcon, mamba_d_ssm: 60 })).toEqual(['mamba_n_heads (8) does not divide d_ssm (60), so mamba_d_head "auto" has no value']);
    expect(problems({ ...tinyFalcon, mamba_d_ssm: null, mamba_expand: 2, mamba_d_head: 8 })).toEqual([
      'mamba_d_head (8) × mamba_n_heads (8) = 64, but d_ssm is 128 (mamba_expand × hidden_size)',
    ]);
    expect(problems({ ...tinyFalcon, mamba_d_head: 'big' })).toEqual(['mamba_d_head: expected a positive integer or "auto", got "big"']);
    expect(problems({ ...tinyFalcon, time_step_limit: [1, 0.5] })).toEqual(['time_step_limit [1, 0.5] must satisfy 0 ≤ min ≤ max']);
  });

  it('the message names the file and lists every problem', async () => {
    const path = join(tempDir(), 'config.json');
    writeFileSync(path, JSON.stringify({ ...tinyFalcon, num_key_value_heads: 3, mamba_n_groups: 3 }));
    const e = (await readConfig(path).catch((x: unknown) => x)) as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.source).toBe(path);
    expect(e.message).toBe(
      `config '${path}': 2 problems:\n  - num_attention_heads (4) is not a multiple of num_key_value_heads (3)\n  - mamba_n_heads (8) is not a multiple of mamba_n_groups (3)`,
    );
    await expect(readConfig(join(tempDir(), 'none.json'))).rejects.toThrow(/cannot read: ENOENT/);
  });
});

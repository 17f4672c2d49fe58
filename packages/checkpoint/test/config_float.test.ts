// A config read with plain JSON.parse still holds transformers 5's {"__float__": "Infinity"}
// (time_step_limit); parseConfig decodes it there too, so an object parses as its text does.
import { describe, expect, it } from 'vitest';
import { configToJson, parseConfig } from '../src/index.js';

const FALCON = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
};

describe('non-finite floats in a JSON-decoded config', () => {
  it('decodes {"__float__": ...} in an object as in text', () => {
    const text = configToJson(parseConfig(FALCON));
    expect(text).toMatch(/"__float__": "Infinity"/);
    const fromObject = parseConfig(JSON.parse(text) as object);
    expect(fromObject).toEqual(parseConfig(text));
    expect(fromObject.model_type === 'falcon_h1' && fromObject.time_step_limit).toEqual([0, Infinity]);
    // decoded to the number, so the range check sees -Infinity (not an object it would call "not a number")
    expect(() => parseConfig({ ...FALCON, time_step_limit: [{ __float__: '-Infinity' }, 1] })).toThrow(/time_step_limit \[-Infinity, 1\] must satisfy 0 ≤ min ≤ max/);
  });
});

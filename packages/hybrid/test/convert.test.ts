// Llama → Falcon-H1 conversion: with Mamba-2's output projection at zero the converted model
// reproduces the Llama logits of the transformers fixture; the saved result loads back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM } from '../src/index.js';
import { convertFromLlama } from '../src/convert.js';
import { fixtureDir, readFixture } from './fixtures.js';

describe('convertFromLlama', () => {
  it('reproduces the llama logits with a zero Mamba-2 output, and round-trips through savePretrained', async () => {
    const model = await convertFromLlama(fixtureDir('llama-tiny'), { mambaHeads: 4, mambaDState: 8, mambaChunkSize: 8 });
    expect(model.config.base.mamba_n_heads).toBe(4);
    const ref = await readFixture('llama-tiny', 'reference.safetensors');
    const ids = ref.get('input_ids') as Tensor2D;
    const { logits } = model.forward(ids);
    expect(relativeError(logits, ref.get('logits')!)).toBeLessThan(1e-4); // float32, same operations as transformers' Llama
    const dir = mkdtempSync(join(tmpdir(), 'falcon-convert-'));
    await model.savePretrained(dir);
    const back = await FalconH1ForCausalLM.fromPretrained(dir);
    const again = back.forward(ids).logits;
    expect(relativeError(again, logits)).toBe(0);
    tf.dispose([logits, again, ...ref.values()]);
  });
  it('refuses a checkpoint that is not llama', async () => {
    await expect(convertFromLlama(fixtureDir('falcon-h1-tiny'))).rejects.toThrow(/expected a llama checkpoint/);
  });
});

// Reading the transformers-made fixtures: names, shapes, dtypes, element spot checks at explicit
// file offsets, and logits recomputed from the last hidden state and lm_head.
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { tf } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTensorShapes, openCheckpoint, openSafetensors, readConfig } from '../src/index.js';
import type { FalconH1Config, SafetensorsReader } from '../src/index.js';
import { fixture } from './fixtures.js';

/** Read one float32 element straight from the file, from an independently parsed header. */
function f32At(path: string, tensor: string, index: number): number {
  const fd = openSync(path, 'r');
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const n = Number(prefix.readBigUInt64LE(0));
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    const entry = JSON.parse(header.toString('utf8'))[tensor] as { dtype: string; data_offsets: [number, number] };
    expect(entry.dtype).toBe('F32');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 8 + n + entry.data_offsets[0] + 4 * index);
    return b.readFloatLE(0);
  } finally {
    closeSync(fd);
  }
}

describe('falcon-h1-tiny', () => {
  let model: SafetensorsReader;
  let ref: SafetensorsReader;
  beforeAll(async () => {
    model = await openSafetensors(fixture('falcon-h1-tiny', 'model.safetensors'));
    ref = await openSafetensors(fixture('falcon-h1-tiny', 'reference.safetensors'));
  });
  afterAll(async () => {
    await model.close();
    await ref.close();
  });

  it('holds exactly the tensors the config implies, all F32, with the format metadata', async () => {
    const config = await readConfig(fixture('falcon-h1-tiny'));
    const expected = expectedTensorShapes(config);
    expect(new Set(model.names)).toEqual(new Set(expected.keys()));
    for (const [name, shape] of expected) {
      expect(model.info(name).shape, name).toEqual(shape);
      expect(model.info(name).dtype).toBe('F32');
    }
    expect(model.metadata).toEqual({ format: 'pt' });
    expect(model.info('model.layers.0.mamba.in_proj.weight').shape).toEqual([168, 64]);
    expect(model.info('model.layers.1.mamba.conv1d.weight').shape).toEqual([96, 1, 4]);
  });

  it('reads elements equal to the bytes at their file offsets', async () => {
    const path = fixture('falcon-h1-tiny', 'model.safetensors');
    for (const [name, index] of [
      ['lm_head.weight', 0],
      ['lm_head.weight', 128 * 64 - 1],
      ['model.layers.1.mamba.A_log', 7],
      ['model.layers.0.mamba.conv1d.weight', 95 * 4 + 3],
      ['model.layers.1.self_attn.v_proj.weight', 1000],
    ] as const) {
      const t = await model.readTensor(name);
      expect(t.dtype).toBe('float32');
      expect(t.dataSync()[index], `${name}[${index}]`).toBe(f32At(path, name, index));
      t.dispose();
    }
  });

  it('reference logits = last hidden state · lm_headᵀ · lm_head_multiplier', async () => {
    const config = (await readConfig(fixture('falcon-h1-tiny'))) as FalconH1Config;
    const last = await ref.readTensor('hidden_states.2');
    const lmHead = await model.readTensor('lm_head.weight');
    const logits = await ref.readTensor('logits');
    expect(last.shape).toEqual([2, 37, 64]);
    expect(logits.shape).toEqual([2, 37, 128]);
    const ours = tf.tidy(() => tf.reshape(tf.mul(tf.matMul(tf.reshape(last, [74, 64]), lmHead, false, true), config.lm_head_multiplier), [2, 37, 128]));
    expect(relativeError(ours, logits)).toBeLessThan(1e-5);
    tf.dispose([last, lmHead, logits, ours]);
  });

  it('reference loss matches meta.json; input_ids and generation tokens are int32', async () => {
    const meta = JSON.parse(readFileSync(fixture('falcon-h1-tiny', 'meta.json'), 'utf8'));
    const loss = await ref.readTensor('loss');
    expect(loss.shape).toEqual([1]);
    expect(loss.dataSync()[0]).toBeCloseTo(meta.loss, 6);
    const ids = await ref.readTensor('input_ids');
    expect(ids.dtype).toBe('int32');
    expect(ids.shape).toEqual([meta.batch, meta.seqlen]);
    const gen = await openCheckpoint(fixture('falcon-h1-tiny', 'generate.safetensors'));
    const prompt = await gen.readTensor('prompt');
    const greedy = await gen.readTensor('greedy');
    expect(greedy.shape).toEqual([2, 12 + meta.gen_new_tokens]);
    expect(Array.from(tf.slice(greedy, [0, 0], [2, 12]).dataSync())).toEqual(Array.from(prompt.dataSync()));
    await gen.close();
    tf.dispose([loss, ids, prompt, greedy]);
  });

  it('holds a gradient for every parameter, of the parameter shape', () => {
    for (const name of model.names) expect(ref.info(`grad.${name}`).shape).toEqual(model.info(name).shape);
  });
});

describe('llama-tiny', () => {
  it('holds exactly the tensors the config implies; logits are [2, 29, 128] F32', async () => {
    const config = await readConfig(fixture('llama-tiny', 'config.json'));
    const ckpt = await openCheckpoint(fixture('llama-tiny'));
    expect(ckpt.sharded).toBe(false);
    expect(new Set(ckpt.names)).toEqual(new Set(expectedTensorShapes(config).keys()));
    const raw = await ckpt.readRaw('model.norm.weight');
    expect(raw).toMatchObject({ dtype: 'F32', shape: [64] });
    expect(raw.data.byteLength).toBe(256);
    await ckpt.close();
    const ref = await openSafetensors(fixture('llama-tiny', 'reference.safetensors'));
    expect(ref.info('logits')).toMatchObject({ dtype: 'F32', shape: [2, 29, 128] });
    expect(ref.info('input_ids')).toMatchObject({ dtype: 'I32', shape: [2, 29] });
    const w = await ref.readTensor('logits');
    expect(w.dataSync()[2 * 29 * 128 - 1]).toBe(f32At(fixture('llama-tiny', 'reference.safetensors'), 'logits', 2 * 29 * 128 - 1));
    w.dispose();
    await ref.close();
  });
});

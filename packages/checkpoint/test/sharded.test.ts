// Sharded checkpoints: transformers' file names and index, shard sizes, reading back through the
// index, the one-file case, stale shards of an earlier save, and broken indexes.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError, loadSafetensors, openCheckpoint, openSafetensors, writeShardedSafetensors } from '../src/index.js';
import { fixture, listDir, tempDir } from './fixtures.js';

let tensors: Map<string, Tensor>;
beforeAll(async () => {
  tensors = await loadSafetensors(fixture('falcon-h1-tiny', 'model.safetensors'));
});

describe('writeShardedSafetensors', () => {
  it('splits into transformers-named shards with an index, and reads back equal', async () => {
    const dir = tempDir();
    const res = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 150_000, fsync: false, indexMetadata: { producer: 'falcon' } });
    const n = res.files.length;
    expect(n).toBe(4);
    expect(listDir(dir)).toEqual([...res.files.map((f) => f.slice(dir.length + 1)), 'model.safetensors.index.json'].sort());
    expect(res.files[0]).toBe(join(dir, 'model-00001-of-00004.safetensors'));
    const index = JSON.parse(readFileSync(res.indexPath!, 'utf8'));
    expect(Object.keys(index)).toEqual(['metadata', 'weight_map']);
    expect(index.metadata).toEqual({ producer: 'falcon', total_size: 435904 });
    expect(Object.keys(index.weight_map)).toEqual([...tensors.keys()].sort());
    for (const f of res.files) {
      const r = await openSafetensors(f);
      expect(r.metadata).toEqual({ format: 'pt' });
      expect(r.header.dataByteLength).toBeLessThanOrEqual(150_000);
      for (const name of r.names) expect(index.weight_map[name]).toBe(f.slice(dir.length + 1));
      await r.close();
    }
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.sharded).toBe(true);
    expect(ckpt.metadata.total_size).toBe(435904);
    expect(ckpt.files).toEqual(res.files);
    expect(new Set(ckpt.names)).toEqual(new Set(tensors.keys()));
    for (const [name, t] of tensors) {
      const back = await ckpt.readTensor(name);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.dataSync()), name).toEqual(Array.from(t.dataSync()));
      back.dispose();
    }
    expect(ckpt.shapes().get('model.layers.1.mamba.in_proj.weight')).toEqual([168, 64]);
    await ckpt.close();
  });

  it('writes one model.safetensors when everything fits, and gives a big tensor its own shard', async () => {
    const dir = tempDir();
    const one = await writeShardedSafetensors(dir, tensors, { fsync: false });
    expect(one.indexPath).toBeUndefined();
    expect(listDir(dir)).toEqual(['model.safetensors']);
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.sharded).toBe(false);
    expect(ckpt.metadata).toEqual({ format: 'pt' });
    await ckpt.close();

    const big = { small: tf.zeros([4]), huge: tf.zeros([100]), tail: tf.zeros([4]) };
    const res = await writeShardedSafetensors(tempDir(), big, { maxShardBytes: 64, fsync: false });
    expect([...res.weightMap.entries()]).toEqual([
      ['small', 'model-00001-of-00003.safetensors'],
      ['huge', 'model-00002-of-00003.safetensors'],
      ['tail', 'model-00003-of-00003.safetensors'],
    ]);
    tf.dispose(Object.values(big));
  });

  it('removes stale shards and indexes of an earlier save', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 100_000, fsync: false });
    expect(listDir(dir).filter((f) => f.includes('-of-00005'))).toHaveLength(5);
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 250_000, fsync: false });
    expect(listDir(dir)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'notes.txt']);
    await writeShardedSafetensors(dir, tensors, { fsync: false });
    expect(listDir(dir)).toEqual(['model.safetensors', 'notes.txt']);
  });

  it('uses another prefix when asked', async () => {
    const dir = tempDir();
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 250_000, prefix: 'adapter', fsync: false });
    expect(listDir(dir)).toEqual(['adapter-00001-of-00002.safetensors', 'adapter-00002-of-00002.safetensors', 'adapter.safetensors.index.json']);
    const ckpt = await openCheckpoint(join(dir, 'adapter.safetensors.index.json'));
    expect(ckpt.names).toHaveLength(37);
    await ckpt.close();
    expect((await openCheckpoint(dir).then((c) => c.close().then(() => c.sharded)))).toBe(true);
  });
});

describe('broken sharded checkpoints', () => {
  async function sharded(): Promise<string> {
    const dir = tempDir();
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 250_000, fsync: false });
    return dir;
  }
  const index = (dir: string) => join(dir, 'model.safetensors.index.json');
  const edit = (dir: string, f: (j: { weight_map: Record<string, string> }) => void) => {
    const j = JSON.parse(readFileSync(index(dir), 'utf8'));
    f(j);
    writeFileSync(index(dir), JSON.stringify(j));
  };

  it('a missing shard', async () => {
    const dir = await sharded();
    unlinkSync(join(dir, 'model-00002-of-00002.safetensors'));
    await expect(openCheckpoint(dir)).rejects.toThrow(/model-00002-of-00002.safetensors': cannot open: ENOENT/);
  });

  it('an index that puts a tensor in a shard without it', async () => {
    const dir = await sharded();
    edit(dir, (j) => (j.weight_map['lm_head.weight'] = 'model-00002-of-00002.safetensors'));
    const e = (await openCheckpoint(dir).catch((x: unknown) => x)) as SafetensorsError;
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.file).toBe(index(dir));
    expect(e.tensor).toBe('lm_head.weight');
    expect(e.problem).toMatch(/the index puts this tensor in 'model-00002-of-00002.safetensors', which does not hold it/);
  });

  it('a shard name outside the directory, a bad weight_map, bad JSON', async () => {
    const dir = await sharded();
    edit(dir, (j) => (j.weight_map['lm_head.weight'] = '../elsewhere.safetensors'));
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'lm_head.weight': weight_map entry "..\/elsewhere.safetensors" is not a file name/);
    writeFileSync(index(dir), '{"metadata": {}}');
    await expect(openCheckpoint(dir)).rejects.toThrow(/index has no "weight_map" object/);
    writeFileSync(index(dir), '{"weight_map": ');
    await expect(openCheckpoint(dir)).rejects.toThrow(/index is not valid JSON/);
  });

  it('a directory with no checkpoint', async () => {
    const dir = tempDir();
    await expect(openCheckpoint(dir)).rejects.toThrow(/has no model.safetensors.index.json or model.safetensors/);
  });
});

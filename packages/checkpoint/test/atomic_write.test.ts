// A write that fails part-way (bad data found mid-stream, a throwing data source) leaves nothing
// under the real name and no temporary file; an existing file under that name is untouched.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@falcon/tensor';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, loadSafetensors, writeSafetensors, writeShardedSafetensors } from '../src/index.js';
import type { LazyTensor } from '../src/index.js';
import { listDir, tempDir } from './fixtures.js';

const good = (n: number): LazyTensor => ({ dtype: 'F32', shape: [n], load: () => new Float32Array(n).fill(1) });

describe('failed writes leave no trace', () => {
  it('a data source that throws mid-stream', async () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    const boom: LazyTensor = {
      dtype: 'F32',
      shape: [4],
      load: async () => {
        throw new Error('disk of tensors on fire');
      },
    };
    const e = await writeSafetensors(path, { a: good(1000), b: boom, c: good(3) }, { fsync: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).tensor).toBe('b');
    expect((e as SafetensorsError).file).toBe(path);
    expect((e as Error).message).toMatch(/tensor 'b': write failed: disk of tensors on fire/);
    expect(((e as Error).cause as Error).message).toBe('disk of tensors on fire');
    expect(listDir(dir)).toEqual([]);
  });

  it('data of the wrong length, found only when it is produced', async () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    const short: LazyTensor = { dtype: 'BF16', shape: [2, 3], load: () => new Uint16Array(5) };
    await expect(writeSafetensors(path, { a: good(16), short }, { fsync: false })).rejects.toThrow(/tensor 'short': data is 10 bytes but shape \[2, 3\] of BF16 needs 12/);
    expect(listDir(dir)).toEqual([]);
  });

  it('a loaded tensor of the wrong shape, which is still disposed', async () => {
    const dir = tempDir();
    const t = tf.zeros([3, 2]);
    const lazy: LazyTensor = { dtype: 'F16', shape: [2, 3], load: () => t };
    await expect(writeSafetensors(join(dir, 'x.safetensors'), { lazy })).rejects.toThrow(/load\(\) returned a tensor of shape \[3, 2\], declared \[2, 3\]/);
    expect(t.isDisposed).toBe(true);
    expect(listDir(dir)).toEqual([]);
  });

  it('raw data of the wrong length is refused before anything is written', async () => {
    const dir = tempDir();
    await expect(writeSafetensors(join(dir, 'x.safetensors'), { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).rejects.toThrow(
      /tensor 'w': data is 8 bytes but shape \[3\] of F32 needs 12/,
    );
    expect(listDir(dir)).toEqual([]);
  });

  it('an existing file survives a failed overwrite', async () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    await writeSafetensors(path, { a: good(4) }, { fsync: false });
    const before = readFileSync(path);
    await expect(writeSafetensors(path, { a: good(8), b: { dtype: 'U8', shape: [2], load: () => new Uint8Array(3) } })).rejects.toThrow(SafetensorsError);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(['model.safetensors']);
  });

  it('a directory that does not exist is a clear error', async () => {
    const path = join(tempDir(), 'missing', 'x.safetensors');
    await expect(writeSafetensors(path, { a: good(1) })).rejects.toThrow(new RegExp(`safetensors '${path}': write failed: ENOENT`));
  });

  it('a sharded write that fails in a later shard leaves no shard, no index and the old checkpoint', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), '{}');
    await writeShardedSafetensors(dir, { a: good(4) }, { fsync: false });
    const before = readFileSync(join(dir, 'model.safetensors'));
    const bad: LazyTensor = { dtype: 'F32', shape: [64], load: () => Promise.reject(new Error('no')) };
    await expect(writeShardedSafetensors(dir, { a: good(64), b: good(64), c: bad }, { maxShardBytes: 300, fsync: false })).rejects.toThrow(
      /model-00003-of-00003.safetensors', tensor 'c': write failed: no/,
    );
    expect(listDir(dir)).toEqual(['config.json', 'model.safetensors']);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true);
  });
});

describe('lazy tensors', () => {
  it('are loaded once each, in file order, and tensors they return are disposed', async () => {
    const path = join(tempDir(), 'lazy.safetensors');
    const calls: string[] = [];
    const made: tf.Tensor[] = [];
    const lazy = (name: string, shape: number[]): LazyTensor => ({
      dtype: 'BF16',
      shape,
      load: () => {
        calls.push(name);
        const t = tf.fill(shape, name.length);
        made.push(t);
        return t;
      },
    });
    await writeSafetensors(path, { ccc: lazy('ccc', [2]), a: lazy('a', [3, 1]), bb: lazy('bb', []) }, { fsync: false });
    expect(calls).toEqual(['a', 'bb', 'ccc']);
    expect(made.every((t) => t.isDisposed)).toBe(true);
    const back = await loadSafetensors(path);
    expect(Array.from(back.get('a')!.dataSync())).toEqual([1, 1, 1]);
    expect(back.get('bb')!.shape).toEqual([]);
    expect(Array.from(back.get('ccc')!.dataSync())).toEqual([3, 3]);
  });
});

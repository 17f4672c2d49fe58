// kvCacheWrite: rows written in place at awkward offsets equal the slice + concat they replace
// (exact: a copy), on every backend under test and on the emulated cuda addon (the copy2d path);
// a host copy from an earlier read does not go stale; bad input is refused before any kernel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, initBackend, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { backendsUnderTest, randomTensor, registerEmulatedCudaBackend } from '@falcon/tensor/testing';
import { KVCache } from '../src/index.js';
import { kvCacheWrite } from '../src/kv_cache_write.js';

/** The cache with rows [offset, offset + n) replaced, by slices and a concat. */
function expected(cache: Tensor, x: Tensor, offset: number): Tensor {
  const n = x.shape[1]!;
  const cap = cache.shape[1]!;
  const parts = [tf.slice(cache, [0, 0], [-1, offset]), x, tf.slice(cache, [0, offset + n], [-1, cap - offset - n])].filter((t) => t.shape[1]! > 0);
  return tf.concat(parts, 1);
}

async function writesInPlace(): Promise<void> {
  for (const [shape, writes] of [
    [[3, 7, 2, 5], [[0, 2], [2, 1], [3, 4]]],
    [[1, 5], [[4, 1], [0, 3]]],
    [[2, 9, 3], [[8, 1], [1, 7]]],
  ] as [number[], [number, number][]][]) {
    const cache = tf.fill(shape, 0); // a kernel output, as KVCache's buffers
    let want = tf.zeros(shape);
    for (const [i, [offset, n]] of writes.entries()) {
      const x = randomTensor([shape[0], n, ...shape.slice(2)], 10 + i);
      await cache.data(); // a host copy now exists on webgpu: the write must not leave it stale
      const y = kvCacheWrite(cache, x, offset);
      expect(y.dataId).toBe(cache.dataId);
      const next = expected(want, x, offset);
      want.dispose();
      want = next;
      // a copy: exact
      expect(Array.from(await cache.data()), `[${shape}] write ${i}`).toEqual(Array.from(await want.data()));
      tf.dispose([x, y]);
    }
    tf.dispose([cache, want]);
  }
}

describe.each(backendsUnderTest())('kvCacheWrite on %s', (backend) => {
  beforeAll(() => initBackend(backend));

  it('writes rows in place, equal to slice + concat', writesInPlace);

  it('writes a mask cast from bool (tfjs-webgpu keeps int words behind such a cast)', async () => {
    const cache = tf.fill([2, 5], 1);
    const x = tf.cast(tf.notEqual(tf.tensor2d([[0, 3], [2, 0]], [2, 2], 'int32'), 0), 'float32');
    tf.tidy(() => kvCacheWrite(cache, x, 1));
    expect(Array.from(await cache.data())).toEqual([1, 0, 1, 1, 1, 1, 1, 0, 1, 1]);
    tf.dispose([cache, x]);
  });

  it('KVCache keeps its handles and appends in place', async () => {
    const cache = new KVCache({ batch: 2, capacity: 5, nKvHeads: 1, headDim: 3 });
    const keys = cache.keys;
    const [k, v] = [randomTensor([2, 2, 1, 3], 1), randomTensor([2, 2, 1, 3], 2)];
    const before = tf.memory().numDataBuffers;
    cache.append(k, v, tf.ones([2, 2]));
    expect(cache.keys).toBe(keys);
    expect(tf.memory().numDataBuffers - before).toBe(1); // the mask given; no new cache buffer
    tf.dispose([k, v]);
    cache.dispose();
  });

  it('refuses bad input before any kernel', () => {
    const cache = tf.fill([2, 4, 3], 0);
    expect(() => kvCacheWrite(cache, tf.zeros([2, 2, 4]), 0)).toThrow(/kvCacheWrite: x has shape \[2,2,4\], expected \[2,newTokens,3\]/);
    expect(() => kvCacheWrite(cache, tf.zeros([2, 2, 3]), 3)).toThrow(/kvCacheWrite: rows 3…4 are beyond the cache capacity 4/);
    expect(() => kvCacheWrite(cache, tf.zeros([2, 1, 3], 'int32'), 0)).toThrow(/kvCacheWrite: cache and x must be float32, got float32 and int32/);
    expect(() => kvCacheWrite(cache, tf.zeros([2, 1, 3]), -1)).toThrow(/kvCacheWrite: offset must be an integer ≥ 0, got -1/);
    cache.dispose();
  });
});

const cuda = (await availableBackends()).find((s) => s.name === 'cuda')!;

describe.skipIf(cuda.available)('kvCacheWrite on the emulated cuda addon', () => {
  let previous: string;
  beforeAll(async () => {
    await initBackend('cpu');
    previous = tf.getBackend();
    registerEmulatedCudaBackend('f32');
    await tf.setBackend('cuda');
  });
  afterAll(async () => {
    await tf.setBackend(previous);
    tf.removeBackend('cuda');
  });
  it('writes rows in place, equal to slice + concat', writesInPlace);

  it('writes a mask cast from bool (tfjs-webgpu keeps int words behind such a cast)', async () => {
    const cache = tf.fill([2, 5], 1);
    const x = tf.cast(tf.notEqual(tf.tensor2d([[0, 3], [2, 0]], [2, 2], 'int32'), 0), 'float32');
    tf.tidy(() => kvCacheWrite(cache, x, 1));
    expect(Array.from(await cache.data())).toEqual([1, 0, 1, 1, 1, 1, 1, 0, 1, 1]);
    tf.dispose([cache, x]);
  });
});

// The data-parallel engine: bucket planning and packing (in this process), and with real Gloo groups
// of 2 and 3 processes the bucketed gradient mean, the parameter broadcast and the ZeRO-1
// distributed optimizer against their arithmetic (test/workers/data_parallel.ts).
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { packBucket, planBuckets, unpackBucket } from '../src/index.js';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('planBuckets', () => {
  it('groups parameters last first into buckets of at least the size, none split, padded to the alignment', () => {
    const b = planBuckets({ a: [2, 3], b: [4], c: [10], d: [1] }, 20, 4); // 5 floats per bucket
    expect(b.map((x) => x.entries.map((e) => e.name))).toEqual([['d', 'c'], ['b', 'a']]);
    expect(b.map((x) => [x.numel, x.padded])).toEqual([[11, 12], [10, 12]]);
    expect(b[1].entries.map((e) => e.offset)).toEqual([0, 4]);
    expect(planBuckets({ a: [3], b: [3] }, 1e9).map((x) => x.numel)).toEqual([6]);
    expect(() => planBuckets({ a: [3] }, 0)).toThrow(/bucketBytes must be positive/);
    expect(() => planBuckets({ a: [3] }, 4, 0)).toThrow(/align must be a positive integer/);
    expect(() => planBuckets({ a: [2.5] }, 4)).toThrow(/'a' has an invalid shape/);
  });
  it('packs and unpacks exactly, and names a missing or misshapen tensor', () => {
    const [bucket] = planBuckets({ a: [2, 3], b: [2] }, 1e9, 3);
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor1d([7, 8]);
    const flat = packBucket(bucket, { a, b });
    expect(Array.from(flat.dataSync())).toEqual([7, 8, 1, 2, 3, 4, 5, 6, 0]);
    const back = unpackBucket(bucket, flat);
    expect(back.a.shape).toEqual([2, 3]);
    expect(Array.from(back.a.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => packBucket(bucket, { a })).toThrow(/no tensor for 'b'/);
    expect(() => packBucket(bucket, { a, b: tf.zeros([3]) })).toThrow(/'b' has shape \[3\], expected \[2\]/);
    expect(() => unpackBucket(bucket, tf.zeros([4]))).toThrow(/the buffer has 4 elements, the bucket 9/);
  });
});

describe('data parallelism on Gloo', () => {
  for (const n of [2, 3]) {
    it(`world size ${n}: gradient mean, broadcast, ZeRO-1 against the arithmetic`, async () => {
      const out = await runGroup('data_parallel', n);
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        expect(o.result?.failures, dump(out)).toEqual([]);
        expect(o.result?.checks).toBeGreaterThan(30);
      }
      // the shards cover the 50 parameter elements once (the padding belongs to no parameter)
      expect(out.reduce((s, o) => s + (o.result?.shardNumel as number), 0)).toBe(50);
    });
  }
});

// Context parallelism's generic pieces: the load-balanced layout (pure), and on real Gloo groups
// of 2, 3 and 4 processes the differentiable exchanges (ring and open chains) and the exclusive
// scan over chunks, forward and backward, against the same computation of every rank's data in
// one process.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { chunkOwner, contextParallelLayout, exchange, startExchange, exclusiveChunkScan, ProcessGroup, contextParallelPositions, naturalToRankMajor, rankMajorPositions, rankMajorToNatural, splitSequence } from '../src/index.js';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('context-parallel layout', () => {
  it('rank r of c holds chunks r and 2c−1−r', () => {
    const l = contextParallelLayout(16, 2, 0);
    expect(l.chunkLength).toBe(4);
    expect(l.chunks).toEqual([0, 3]);
    expect(Array.from(contextParallelPositions(l))).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
    expect(Array.from(contextParallelPositions(contextParallelLayout(16, 2, 1)))).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((j) => chunkOwner(j, 4))).toEqual([0, 1, 2, 3, 3, 2, 1, 0]);
  });

  it('the rank-major order of all ranks covers every position once', () => {
    const p = Array.from(rankMajorPositions(24, 3)).sort((a, b) => a - b);
    expect(p).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('rank-major and natural order convert into each other', () => {
    const pos = rankMajorPositions(24, 3);
    const gathered = tf.tensor2d(Array.from(pos), [1, 24]); // entry i holds its own position
    expect(Array.from(rankMajorToNatural(gathered, 3).dataSync())).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(Array.from(naturalToRankMajor(tf.reshape(tf.range(0, 24), [1, 24]), 3).dataSync())).toEqual(Array.from(pos));
  });

  it('splitSequence takes the two chunks along the axis', () => {
    const x = tf.reshape(tf.range(0, 2 * 12), [2, 12]);
    const y = splitSequence(x, contextParallelLayout(12, 3, 1), 1);
    expect(y.shape).toEqual([2, 4]);
    expect(Array.from(y.dataSync())).toEqual([2, 3, 8, 9, 14, 15, 20, 21]);
  });

  it('refuses a sequence length not divisible by 2c, and bad ranks', () => {
    expect(() => contextParallelLayout(10, 2, 0)).toThrow(/multiple of 2·cp = 4/);
    expect(() => contextParallelLayout(8, 2, 2)).toThrow(/rank 2 is not in \[0, 2\)/);
    expect(() => splitSequence(tf.zeros([1, 6]), contextParallelLayout(8, 2, 0))).toThrow(/sequence length 8/);
  });
});

describe('context-parallel mappings refuse bad input before any message', () => {
  const group = new ProcessGroup('cp-bad', [0, 1], 0, 'gloo', 1000);
  it('an exchange with itself or outside the group, a bad tag', () => {
    expect(() => exchange(tf.zeros([2]), { group, sendTo: 0, recvFrom: null })).toThrow(/sendTo 0 is not another rank of the group/);
    expect(() => exchange(tf.zeros([2]), { group, sendTo: null, recvFrom: 2 })).toThrow(/recvFrom 2 is not another rank/);
    expect(() => exchange(tf.zeros([2]), { group, sendTo: 1, recvFrom: 1, tag: -1 })).toThrow(/tag must be an integer/);
    expect(() => startExchange(tf.zeros([2]), { group, sendTo: 0, recvFrom: null })).toThrow(/startExchange on rank 0: sendTo 0 is not another rank/);
    expect(() => startExchange(tf.zeros([2]), { group, sendTo: 1, recvFrom: 1, tag: 1 << 24 })).toThrow(/startExchange: tag must be an integer/);
  });
  it('a chunk scan without two chunks', () => {
    expect(() => exclusiveChunkScan(tf.zeros([3, 1]), tf.zeros([3, 2]), { group })).toThrow(/must hold this rank's 2 chunks/);
  });
});

describe('context-parallel exchanges and the chunk scan (real processes)', () => {
  for (const size of [2, 3, 4]) {
    it(`world size ${size}`, async () => {
      const out = await runGroup('context_parallel', size);
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        const r = o.result as { checks: number; failures: string[] };
        expect(r.failures, dump(out)).toEqual([]);
        // 9 exchanges/scan checks + 5 of the overlapped forms + 1 cast + 4 refusals; rank 0 checks the busy irecv (2), rank 1 sends it (1)
        expect(r.checks).toBe(19 + ([2, 1][o.rank] ?? 0));
      }
    }, 60_000);
  }
});

// The generic tensor-parallel layers (column/row-parallel linear with and without SP,
// vocab-parallel embedding and cross-entropy, sharded BitNet statistics, shard gradients) on real
// Gloo groups of 2 and 3 processes, against the unsplit computation (1e-5 relative in the worker:
// float32 re-association).
import { describe, expect, it } from 'vitest';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('tensor-parallel layers (real processes)', () => {
  for (const size of [2, 3]) {
    it(`world size ${size}`, async () => {
      const out = await runGroup('tensor_parallel', size);
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        const r = o.result as { checks: number; failures: string[] };
        expect(r.failures, dump(out)).toEqual([]);
        expect(r.checks).toBeGreaterThanOrEqual(size === 2 ? 18 : 15);
      }
    }, 120_000);
  }
});

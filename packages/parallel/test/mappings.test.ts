// The differentiable mappings (copy-to-region, reduce-from-region, scatter/gather/reduce-scatter
// along the sequence, all-to-all) on real Gloo groups of 2 and 3 processes: forward values and the
// gradients tfjs autodiff computes through them, against the gradient of the total loss written
// out from every rank's weights (exact: small integers and quarters); plus a TP=2 column→row MLP
// against the unsplit one (1e-4 relative, float32 re-association).
import { describe, expect, it } from 'vitest';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('differentiable mappings (real processes)', () => {
  for (const size of [2, 3]) {
    it(`world size ${size}`, async () => {
      const out = await runGroup('mappings', size);
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        const r = o.result as { checks: number; failures: string[] };
        expect(r.failures, dump(out)).toEqual([]);
        expect(r.checks).toBeGreaterThanOrEqual(13);
      }
    });
  }
});

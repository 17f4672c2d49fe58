// Every collective against its arithmetic on real Gloo groups of 2, 3 and 4 processes over
// loopback (test/workers/collectives.ts does the checks in each rank; values are exact in float32,
// so comparisons are exact), in the world and in subgroups, plus bad input.
import { describe, expect, it } from 'vitest';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('collectives on Gloo (real processes)', () => {
  for (const size of [2, 3, 4]) {
    it(`world size ${size}: every collective, float32 and int32, sync and async, subgroups, bad input`, async () => {
      const out = await runGroup('collectives', size);
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        const r = o.result as { checks: number; failures: string[] };
        expect(r.failures, dump(out)).toEqual([]);
        expect(r.checks).toBeGreaterThan(200);
      }
    });
  }
});

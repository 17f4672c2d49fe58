// The pipeline executor over real processes (Gloo over loopback, one process per stage): the toy
// chain gives the whole chain's loss and gradients under 1F1B (PP2, PP4) and interleaving, the
// passes run in schedule order, and stageSum / stageBroadcast agree on every stage.
import { describe, expect, it } from 'vitest';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('runPipeline over Gloo', () => {
  for (const [s, v, m] of [[2, 1, 4], [4, 1, 4], [2, 2, 4]] as const) {
    it(`PP${s}${v > 1 ? ` × ${v} chunks` : ''}, ${m} microbatches`, async () => {
      const out = await runGroup('pipeline', s, { args: [String(v), String(m)] });
      for (const o of out) {
        expect(o.code, dump(out)).toBe(0);
        expect(o.result?.failures, dump(out)).toEqual([]);
      }
      // stageSum gives every stage the same bits
      expect(new Set(out.map((o) => o.result?.total)).size).toBe(1);
    }, 60_000);
  }
});

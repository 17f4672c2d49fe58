// Megatron's rank layout (order tp-cp-ep-dp-pp): the 16-GPU example of Megatron's
// initialize_model_parallel docstring (tp 2, pp 4, dp 2), a layout with context parallelism, bad
// sizes; and real groups of 4 processes (tp 2 × dp 2) whose all-reduces sum over the right ranks.
import { describe, expect, it } from 'vitest';
import { rankAt, rankCoords, rankLayout } from '../src/index.js';
import { dump, runGroup } from './helpers/spawn_group.js';

describe('rankLayout', () => {
  it("matches Megatron's 16-rank example (tp 2, pp 4, dp 2)", () => {
    const l = rankLayout({ tp: 2, pp: 4 }, 16);
    expect(l.sizes).toEqual({ tp: 2, cp: 1, dp: 2, pp: 4 });
    expect(l.tp).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13], [14, 15]]);
    expect(l.dp).toEqual([[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9, 11], [12, 14], [13, 15]]);
    expect(l.pp).toEqual([[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15]]);
    expect(l.mp).toEqual([[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]]);
  });

  it('orders tp fastest, then cp, dp, pp (tp 2, cp 2, dp 2, pp 2)', () => {
    const s = { tp: 2, cp: 2, dp: 2, pp: 2 };
    const l = rankLayout(s, 16);
    expect(l.cp).toEqual([[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9, 11], [12, 14], [13, 15]]);
    expect(l.dp).toEqual([[0, 4], [1, 5], [2, 6], [3, 7], [8, 12], [9, 13], [10, 14], [11, 15]]);
    expect(l.pp[0]).toEqual([0, 8]);
    expect(l.tpCp[0]).toEqual([0, 1, 2, 3]);
    expect(l.dpCp[0]).toEqual([0, 2, 4, 6]);
    expect(l.tpCpDp).toEqual([[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]);
    for (let r = 0; r < 16; r++) expect(rankAt(rankCoords(r, s), s)).toBe(r);
    expect(rankCoords(13, s)).toEqual({ tp: 1, cp: 0, dp: 1, pp: 1 });
    // every rank is in exactly one group of each kind
    for (const k of ['tp', 'cp', 'dp', 'pp', 'tpCp', 'dpCp', 'mp', 'tpCpDp'] as const) expect(l[k].flat().sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
  });

  it('rejects sizes that do not multiply to the world size', () => {
    expect(() => rankLayout({ tp: 3 }, 16)).toThrow(/must equal the world size 16/);
    expect(() => rankLayout({ tp: 2, dp: 3 }, 16)).toThrow(/must equal the world size 16/);
    expect(() => rankLayout({ tp: 0 }, 4)).toThrow(/tp must be a positive integer/);
  });
});

describe('initializeModelParallel (real processes)', () => {
  it('tp 2 × dp 2 on 4 processes: each group all-reduces over its own ranks', async () => {
    const out = await runGroup('model_parallel', 4);
    for (const o of out) {
      expect(o.code, dump(out)).toBe(0);
      expect((o.result as { failures: string[] }).failures, dump(out)).toEqual([]);
    }
  });
});

// The re-sharding planner and its in-memory executor: random layouts (column/row splits, uneven
// and interleaved ranges, overlaps, replicated, one rank whole) of random tensors of awkward
// shapes, re-sharded to another random layout (and to one rank), give exactly the target's slices
// of the full tensor; every element is written once; holes, shape and encoding disagreements are
// refused naming the tensor. (The save/load path over real processes is in @falcon/hybrid's
// distributed_checkpoint tests.)
import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@falcon/tensor';
import { checkPlans, copyBox, localShape, planReshard, replicated, reshardTensor, takeShard } from '../src/index.js';
import type { ShardSpec } from '../src/index.js';
import { RANDOM_SPEC_KINDS, randomSpecs } from '../src/testing/index.js';

const SHAPES = [[13], [11, 7], [9, 10], [7, 1, 5], [17, 6]];

function randomFull(rng: Rng, shape: number[], dtype: 'float32' | 'int32'): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return dtype === 'int32' ? tf.tensor(Int32Array.from({ length: n }, () => rng.int(1000) - 500), shape, 'int32') : tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

describe('planReshard / reshardTensor', () => {
  it('random layouts re-shard to random layouts and to one rank exactly', async () => {
    const rng = new Rng(15);
    let cases = 0;
    for (let trial = 0; trial < 60; trial++) {
      const shape = SHAPES[trial % SHAPES.length];
      const dtype = trial % 4 === 3 ? 'int32' : 'float32';
      const full = randomFull(rng, shape, dtype);
      const nSrc = 2 + rng.int(3);
      const src = randomSpecs(rng, shape, nSrc, RANDOM_SPEC_KINDS[trial % RANDOM_SPEC_KINDS.length]);
      const held = src.map((spec, source) => ({ source, spec, tensor: takeShard(full, spec) }));
      const targets: ShardSpec[] = [...randomSpecs(rng, shape, 1 + rng.int(4)), replicated(shape)];
      for (const [t, target] of targets.entries()) {
        const got = await reshardTensor('w', target, held, { prefer: t % nSrc });
        const want = takeShard(full, target);
        expect(got.dtype).toBe(dtype);
        expect(got.shape).toEqual(localShape(target));
        // pure copies: bit for bit
        expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
        tf.dispose([got, want]);
        cases++;
      }
      tf.dispose([full, ...held.map((h) => h.tensor)]);
    }
    expect(cases).toBeGreaterThan(100);
  });

  it('covers the target exactly once, taking overlaps from the preferred source', () => {
    const shape = [10, 4];
    // ranks 0 and 1 both hold rows 6..10 (a replicated group); rank 1 also holds 3..6
    const sources = [
      { source: 0, spec: { shape, axis: 0, ranges: [[0, 3], [6, 10]] } as ShardSpec },
      { source: 1, spec: { shape, axis: 0, ranges: [[3, 6], [6, 10]] } as ShardSpec },
    ];
    for (const prefer of [0, 1]) {
      const pieces = planReshard('w', replicated(shape), sources, { prefer });
      const count = new Array(40).fill(0);
      for (const p of pieces) for (let r = 0; r < p.size[0]; r++) for (let c = 0; c < p.size[1]; c++) count[(p.to[0] + r) * 4 + p.to[1] + c]++;
      expect(count.every((c) => c === 1)).toBe(true);
      // rows 6..10 (held by both) come from the preferred source
      const shared = pieces.filter((p) => p.to[0] <= 6 && p.to[0] + p.size[0] >= 10);
      expect(shared.map((p) => p.source)).toEqual([prefer]);
    }
    // a column target of a row layout: pieces are boxes [rows of a source] × [the target's columns]
    const pieces = planReshard('w', { shape, axis: 1, ranges: [[1, 3]] }, sources, { prefer: 1 });
    expect(pieces).toEqual([
      { source: 1, from: [0, 1], to: [3, 0], size: [7, 2] },
      { source: 0, from: [0, 1], to: [0, 0], size: [3, 2] },
    ]);
  });

  it('plans packed (ternary2) specs in the unpacked coordinates, and the in-memory executor refuses them', async () => {
    const shape = [9, 5];
    const src: ShardSpec[] = [
      { shape, axis: 0, ranges: [[0, 4]], encoding: 'ternary2' },
      { shape, axis: 0, ranges: [[4, 9]], encoding: 'ternary2' },
    ];
    const pieces = planReshard('w', { shape, axis: 1, ranges: [[2, 5]], encoding: 'ternary2' }, src.map((spec, source) => ({ source, spec })));
    expect(pieces).toEqual([
      { source: 0, from: [0, 2], to: [0, 0], size: [4, 3] },
      { source: 1, from: [0, 2], to: [4, 0], size: [5, 3] },
    ]);
    const t = tf.zeros(localShape(src[0]));
    await expect(reshardTensor('w', replicated(shape), [{ source: 0, spec: src[0], tensor: t }])).rejects.toThrow(/ternary2-encoded/);
    t.dispose();
  });

  it('names the tensor and the missing elements when the sources leave a hole', () => {
    const shape = [8, 3];
    const sources = [
      { source: 0, spec: { shape, axis: 0, ranges: [[0, 3]] } as ShardSpec },
      { source: 1, spec: { shape, axis: 0, ranges: [[5, 8]] } as ShardSpec },
    ];
    expect(() => planReshard('model.layers.0.mamba.in_proj.weight', replicated(shape), sources)).toThrow(/model\.layers\.0\.mamba\.in_proj\.weight: no source holds elements \[3:5, 0:3\]/);
    expect(() => planReshard('w', { shape, axis: 0, ranges: [[6, 8], [2, 4]] }, sources)).toThrow(/no source holds elements \[3:4, 0:3\]/);
    expect(() => planReshard('w', replicated([8, 4]), sources)).toThrow(/source 0 holds a tensor of full shape \[8,3\], the target's is \[8,4\]/);
    expect(() => planReshard('w', { shape, axis: 0, ranges: [[0, 9]] }, sources)).toThrow(/range \[0, 9\) is not inside/);
  });
});

describe('checkPlans', () => {
  it('accepts random layouts of a whole model and returns the full shapes', () => {
    const rng = new Rng(3);
    const names = SHAPES.map((_, i) => `t${i}`);
    const ranks = 3;
    const plans: Record<string, ShardSpec>[] = Array.from({ length: ranks }, () => ({}));
    names.forEach((n, i) => randomSpecs(rng, SHAPES[i], ranks).forEach((s, r) => (plans[r][n] = s)));
    // a pipeline-like layout: rank 2 does not hold t0 at all (ranks 0 and 1 hold it between them)
    plans[0].t0 = { shape: [13], axis: 0, ranges: [[0, 7]] };
    plans[1].t0 = { shape: [13], axis: 0, ranges: [[7, 13]] };
    delete plans[2].t0;
    const full = checkPlans(plans);
    expect([...full.keys()]).toEqual(names);
    expect(full.get('t1')).toEqual({ shape: [11, 7], encoding: 'plain' });
  });

  it('lists every problem: holes, disagreeing shapes and encodings', () => {
    const plans = [
      { a: { shape: [6], axis: 0, ranges: [[0, 2]] }, b: replicated([2, 3]), c: { shape: [4, 4], axis: 0, ranges: [[0, 4]], encoding: 'ternary2' } },
      { a: { shape: [6], axis: 0, ranges: [[3, 6]] }, b: replicated([3, 2]), c: replicated([4, 4]) },
    ] as Record<string, ShardSpec>[];
    expect(() => checkPlans(plans)).toThrow(/b: rank 0 holds it with full shape \[2,3\], rank 1 with \[3,2\]\n- c: rank 0 stores it as ternary2, rank 1 as plain/);
    delete (plans[0] as Record<string, ShardSpec>).c;
    plans[1].b = replicated([2, 3]);
    expect(() => checkPlans(plans)).toThrow(/the plans of the 2 ranks do not fit together:\n- re-sharding a: no source holds elements \[2:3\] of the full tensor \[6\]/);
  });
});

describe('copyBox', () => {
  it('copies a 3-d box between plain and typed arrays, and refuses a box that does not fit', () => {
    const src = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const dst = new Array<number>(3 * 3 * 2).fill(-1);
    copyBox(src, [2, 3, 4], dst, [3, 3, 2], { from: [1, 1, 2], to: [2, 0, 0], size: [1, 2, 2] });
    expect(dst.slice(18 - 6)).toEqual([18, 19, 22, 23, -1, -1]);
    expect(() => copyBox(src, [2, 3, 4], dst, [3, 3, 2], { from: [1, 1, 3], to: [0, 0, 0], size: [1, 1, 2] })).toThrow(/does not fit dimension 2/);
  });
});

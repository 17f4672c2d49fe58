// The cuda backend's host-side shape arithmetic (no GPU needed): broadcasting strides, merging
// contiguous dims, copy descriptors and reduction plans, checked against direct index arithmetic.
import { describe, expect, it } from 'vitest';
import type { CopyDesc } from '../src/backends/cuda/shape.js';
import { broadcastShape, broadcastStrides, mergeDims, normalizeCopy, reductionPlan, sizeOf, stridesOf, transposeDesc } from '../src/backends/cuda/shape.js';

/** Input offsets a copy descriptor reads, in output order (-1 = pad), by brute force. */
function offsets(d: CopyDesc): number[] {
  const n = sizeOf(d.shape);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i,
      off = d.offset,
      inside = true;
    for (let k = d.shape.length - 1; k >= 0; k--) {
      const c = rem % d.shape[k];
      rem = Math.floor(rem / d.shape[k]);
      let ic = d.begin[k] + c * d.step[k];
      if (d.mod[k] > 0) ic = ((ic % d.mod[k]) + d.mod[k]) % d.mod[k];
      if (ic < 0 || ic >= d.limit[k]) inside = false;
      off += ic * d.stride[k];
    }
    out.push(inside ? off : -1);
  }
  return out;
}

describe('cuda shape helpers', () => {
  it('strides and broadcast strides', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([])).toEqual([]);
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(broadcastStrides([], [5])).toEqual([0]);
    expect(broadcastShape([5, 1, 7], [3, 7])).toEqual([5, 3, 7]);
    expect(() => broadcastShape([2, 3], [4, 3])).toThrow(/cannot be broadcast/);
  });

  it('merges dims contiguous in every operand and drops size-1 dims', () => {
    const out = [2, 3, 4, 5];
    const m = mergeDims(out, [stridesOf(out), broadcastStrides([2, 3, 1, 1], out)]);
    expect(m.shape).toEqual([6, 20]);
    expect(m.strides).toEqual([
      [20, 1],
      [1, 0],
    ]);
    expect(mergeDims([1, 1], [[1, 1]]).shape).toEqual([]);
  });

  it('normalised copy descriptors read the same elements (transpose, slice, reverse, pad, tile)', () => {
    const shape = [3, 4, 5];
    const st = stridesOf(shape);
    const base = (): CopyDesc => ({ shape: [...shape], begin: [0, 0, 0], step: [1, 1, 1], mod: [0, 0, 0], limit: [...shape], stride: [...st], offset: 0 });
    const descs: CopyDesc[] = [
      transposeDesc(shape, [2, 0, 1]),
      transposeDesc(shape, [0, 2, 1]),
      { ...base(), shape: [2, 4, 3], begin: [1, 0, 2] },
      { ...base(), begin: [2, 0, 4], step: [-1, 1, -1] },
      { ...base(), shape: [5, 4, 7], begin: [-1, 0, -2] },
      { ...base(), shape: [6, 4, 10], mod: [3, 0, 5] },
      { ...base(), shape: [3, 2, 5], step: [1, 0, 1] },
      base(),
    ];
    for (const d of descs) {
      const n = normalizeCopy(d);
      expect(offsets(n)).toEqual(offsets(d));
      expect(n.shape.length).toBeLessThanOrEqual(d.shape.length);
    }
    expect(normalizeCopy(base()).shape).toEqual([60]);
  });

  it('plans reductions as [outer, R, inner] or with a permutation', () => {
    expect(reductionPlan([5, 6, 7], [1])).toEqual({ outer: 5, r: 6, inner: 7 });
    expect(reductionPlan([5, 6, 7], [1, 2])).toEqual({ outer: 5, r: 42, inner: 1 });
    expect(reductionPlan([5, 6, 7], [0, 1, 2])).toEqual({ outer: 1, r: 210, inner: 1 });
    expect(reductionPlan([5, 1, 7], [0, 2])).toEqual({ outer: 1, r: 35, inner: 1 });
    expect(reductionPlan([5, 6, 7], [0, 2])).toEqual({ outer: 6, r: 35, inner: 1, perm: [1, 0, 2] });
    expect(reductionPlan([4, 0], [1])).toEqual({ outer: 4, r: 0, inner: 1 });
  });
});

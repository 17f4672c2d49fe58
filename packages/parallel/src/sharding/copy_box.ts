/**
 * Copying an n-dimensional box between two row-major arrays (what executing a
 * {@link ReshardPiece} does on the host): the innermost dimension is copied as contiguous runs.
 */
import type { ReshardPiece } from './reshard.js';

/** A row-major array of any element type (typed arrays, or plain arrays of numbers). */
export interface IndexedArray {
  readonly length: number;
  [i: number]: number;
}

type Typed = { set(a: Typed, offset: number): void; subarray(begin: number, end: number): Typed };

/** Row-major strides of a shape. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

/**
 * Copy `box.size` elements starting at `box.from` of `src` (shape `srcShape`) to `box.to` of `dst`
 * (shape `dstShape`).
 * @param src - the source's elements, row-major
 * @param srcShape - the source's shape
 * @param dst - the target's elements, row-major (written in place)
 * @param dstShape - the target's shape
 * @param box - where from, where to and how much (a {@link ReshardPiece} or the like)
 * @throws RangeError when the box does not fit in either array
 */
export function copyBox(src: IndexedArray, srcShape: readonly number[], dst: IndexedArray, dstShape: readonly number[], box: Pick<ReshardPiece, 'from' | 'to' | 'size'>): void {
  const rank = box.size.length;
  if (srcShape.length !== rank || dstShape.length !== rank || box.from.length !== rank || box.to.length !== rank) {
    throw new RangeError(`copyBox: a box of rank ${rank} between arrays of rank ${srcShape.length} and ${dstShape.length}`);
  }
  for (let d = 0; d < rank; d++) {
    if (box.from[d] < 0 || box.from[d] + box.size[d] > srcShape[d] || box.to[d] < 0 || box.to[d] + box.size[d] > dstShape[d]) {
      throw new RangeError(`copyBox: the box [${box.size}] at [${box.from}] → [${box.to}] does not fit dimension ${d} of [${srcShape}] → [${dstShape}]`);
    }
  }
  const n = box.size.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const ss = strides(srcShape);
  const ds = strides(dstShape);
  const run = rank === 0 ? 1 : box.size[rank - 1];
  const outer = n / run;
  // typed arrays of one kind: contiguous runs with set(subarray)
  const typed = ArrayBuffer.isView(src) && ArrayBuffer.isView(dst) && src.constructor === dst.constructor;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let o = 0; o < outer; o++) {
    let si = 0;
    let di = 0;
    for (let d = 0; d < rank; d++) {
      const i = d < rank - 1 ? idx[d] : 0;
      si += (box.from[d] + i) * ss[d];
      di += (box.to[d] + i) * ds[d];
    }
    if (typed) (dst as unknown as Typed).set((src as unknown as Typed).subarray(si, si + run), di);
    else for (let k = 0; k < run; k++) dst[di + k] = src[si + k];
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < box.size[d]) break;
      idx[d] = 0;
    }
  }
}

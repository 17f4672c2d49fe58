/**
 * Shape arithmetic for the cuda backend's kernels, on the host: row-major strides, broadcasting
 * strides, merging dimensions that are contiguous in every operand (so kernels index fewer
 * dimensions), normalising strided-copy descriptors, and splitting reductions into
 * [outer, reduced, inner]. Pure functions, tested without a GPU.
 */

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major element strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
}

/** Strides of a contiguous `inShape` read as `outShape` under numpy broadcasting (0 where broadcast). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const inStrides = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  if (off < 0) throw new Error(`cannot broadcast [${inShape}] to [${outShape}]`);
  return outShape.map((d, k) => {
    const j = k - off;
    if (j < 0) return 0;
    if (inShape[j] === d) return d === 1 ? 0 : inStrides[j];
    if (inShape[j] === 1) return 0;
    throw new Error(`cannot broadcast [${inShape}] to [${outShape}]`);
  });
}

/** The broadcast shape of several shapes (numpy rules); throws naming both shapes when incompatible. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let k = 0; k < s.length; k++) {
      const d = s[k];
      const o = out[off + k];
      if (o === 1) out[off + k] = d;
      else if (d !== 1 && d !== o) throw new Error(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] cannot be broadcast together`);
    }
  }
  return out;
}

/**
 * Drops dimensions of size 1 and merges neighbouring dimensions that every operand walks
 * contiguously (stride[k] = stride[k+1] · shape[k+1]). Returns the shorter shape and strides.
 */
export function mergeDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, j) => outStrides[j][last] === s[k] * shape[k])) {
      outShape[last] *= shape[k];
      strides.forEach((s, j) => (outStrides[j][last] = s[k]));
    } else {
      outShape.push(shape[k]);
      strides.forEach((s, j) => outStrides[j].push(s[k]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** A strided-copy descriptor (see csrc/common.h `Copy`) plus an element offset into the input. */
export interface CopyDesc {
  /** Output shape. */
  shape: number[];
  /** First input coordinate per output dim. */
  begin: number[];
  /** Input coordinate step per output dim (negative reverses, 0 broadcasts). */
  step: number[];
  /** Modulus applied to the input coordinate (tile), 0 for none. */
  mod: number[];
  /** Input extent per output dim: coordinates outside [0, limit) read the pad value. */
  limit: number[];
  /** Input element stride per output dim. */
  stride: number[];
  /** Element offset added to the input pointer. */
  offset: number;
}

/**
 * Simplifies a copy descriptor: dimensions that can never leave [0, limit) and have no modulus
 * fold their begin into the offset and their step into the stride; size-1 dims are dropped and
 * plain neighbours that are contiguous in the input are merged.
 */
export function normalizeCopy(d: CopyDesc): CopyDesc {
  const out: CopyDesc = { shape: [], begin: [], step: [], mod: [], limit: [], stride: [], offset: d.offset };
  const plain: boolean[] = [];
  for (let k = 0; k < d.shape.length; k++) {
    const n = d.shape[k];
    const first = d.begin[k];
    const lastC = d.begin[k] + (n - 1) * d.step[k];
    const isPlain = d.mod[k] === 0 && Math.min(first, lastC) >= 0 && Math.max(first, lastC) < d.limit[k];
    if (n === 1 && isPlain) {
      out.offset += first * d.stride[k];
      continue;
    }
    if (isPlain) {
      out.offset += first * d.stride[k];
      const stride = d.step[k] * d.stride[k];
      const last = out.shape.length - 1;
      if (last >= 0 && plain[last] && out.stride[last] === stride * n) {
        out.shape[last] *= n;
        out.stride[last] = stride;
        out.limit[last] = out.shape[last];
        continue;
      }
      out.shape.push(n);
      out.begin.push(0);
      out.step.push(1);
      out.mod.push(0);
      out.limit.push(n);
      out.stride.push(stride);
      plain.push(true);
    } else {
      out.shape.push(n);
      out.begin.push(d.begin[k]);
      out.step.push(d.step[k]);
      out.mod.push(d.mod[k]);
      out.limit.push(d.limit[k]);
      out.stride.push(d.stride[k]);
      plain.push(false);
    }
  }
  return out;
}

/** A plain descriptor reading a contiguous `inShape` through `perm` (output dim k = input dim perm[k]). */
export function transposeDesc(inShape: readonly number[], perm: readonly number[]): CopyDesc {
  const st = stridesOf(inShape);
  const shape = perm.map((p) => inShape[p]);
  return { shape, begin: shape.map(() => 0), step: shape.map(() => 1), mod: shape.map(() => 0), limit: [...shape], stride: perm.map((p) => st[p]), offset: 0 };
}

/**
 * How a reduction over `axes` of `shape` maps onto the kernels: either directly as
 * [outer, reduced, inner] (the reduced axes form one run once size-1 dims are ignored), or after
 * moving the reduced axes last with `perm`.
 */
export function reductionPlan(shape: readonly number[], axes: readonly number[]): { outer: number; r: number; inner: number; perm?: number[] } {
  const rank = shape.length;
  const red = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const r = sizeOf(shape.filter((_, k) => red.has(k)));
  const kept = shape.filter((_, k) => !red.has(k));
  const idx = shape.map((_, k) => k).filter((k) => shape[k] !== 1);
  const firstRed = idx.findIndex((k) => red.has(k));
  let contiguous = true;
  if (firstRed >= 0) {
    let k = firstRed;
    while (k < idx.length && red.has(idx[k])) k++;
    for (; k < idx.length; k++) if (red.has(idx[k])) contiguous = false;
  }
  if (contiguous) {
    let outer = 1,
      inner = 1;
    const firstAxis = firstRed >= 0 ? idx[firstRed] : rank;
    for (let k = 0; k < rank; k++) {
      if (red.has(k)) continue;
      if (k < firstAxis) outer *= shape[k];
      else inner *= shape[k];
    }
    return { outer, r, inner };
  }
  const perm = [...shape.keys()].filter((k) => !red.has(k)).concat([...shape.keys()].filter((k) => red.has(k)));
  return { outer: sizeOf(kept), r, inner: 1, perm };
}

/**
 * Layout kernels of the cuda backend: Transpose, Slice, StridedSlice, Concat, Pack, Unpack, SplitV,
 * Tile, PadV2, Reverse. All but Concat are one strided copy (see `runCopy`); Concat places each
 * input with a 2-D device copy.
 */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util, slice_util, upcastType } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeBytes } from '../backend.js';
import type { CopyDesc } from '../shape.js';
import { sizeOf, stridesOf } from '../shape.js';
import { axesOf, castInfo, input, inputList, kernel, release, reshapeInfo, runCopy, transposeInfo } from './util.js';

function plainDesc(shape: readonly number[]): CopyDesc {
  return { shape: [...shape], begin: shape.map(() => 0), step: shape.map(() => 1), mod: shape.map(() => 0), limit: [...shape], stride: stridesOf(shape), offset: 0 };
}

/** `x[begin : begin + size]` per dim. @internal */
export function sliceInfo(b: CudaBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const d = plainDesc(x.shape);
  d.shape = [...size];
  d.begin = [...begin];
  return runCopy(b, x, d);
}

/** Concatenation along `axis` (inputs already share dtype and the other dims). @internal */
export function concat(b: CudaBackend, xs: TensorInfo[], axis: number): TensorInfo {
  const rank = xs[0].shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const dtype = xs[0].dtype;
  const outShape = backend_util.computeOutShape(xs.map((t) => t.shape), ax);
  const y = b.makeOutput(outShape, dtype);
  if (sizeOf(outShape) === 0) return y;
  const elem = dtypeBytes(dtype);
  const outer = sizeOf(outShape.slice(0, ax));
  const rowBytes = sizeOf(outShape.slice(ax)) * elem;
  let col = 0;
  for (const x of xs) {
    const cx = castInfo(b, x, dtype);
    const width = sizeOf(x.shape.slice(ax)) * elem;
    if (width > 0 && outer > 0) b.native.copy2d({ src: b.ptr(cx), srcPitch: width, dst: b.ptr(y) + col, dstPitch: rowBytes, widthBytes: width, rows: outer });
    col += width;
    release(b, cx);
  }
  return y;
}

/** The layout kernels. */
export const layoutKernels: KernelConfig[] = [
  kernel('Transpose', (args) => transposeInfo(args.backend, input(args, 'x', 'Transpose'), (args.attrs as { perm: number[] }).perm)),
  kernel('Slice', (args) => {
    const x = input(args, 'x', 'Slice');
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [b0, s0] = slice_util.parseSliceParams(x as never, begin, size);
    slice_util.assertParamsValid(x as never, b0, s0);
    return sliceInfo(args.backend, x, b0, s0);
  }),
  kernel('StridedSlice', (args) => {
    const x = input(args, 'x', 'StridedSlice');
    const a = args.attrs as { begin: number[]; end: number[]; strides: number[]; beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number };
    const info = slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    if (info.isIdentity) return reshapeInfo(args.backend, x, info.finalShape);
    const size = slice_util.computeOutShape(info.begin, info.end, info.strides).map((s) => Math.max(0, s));
    const d = plainDesc(x.shape);
    d.shape = size;
    d.begin = [...info.begin];
    d.step = [...info.strides];
    return runCopy(args.backend, x, d, 0, info.finalShape);
  }),
  kernel('Concat', (args) => {
    const all = inputList(args);
    const axis = axesOf((args.attrs as { axis: number }).axis, all[0].shape.length)[0];
    const outShape = backend_util.computeOutShape(all.map((t) => t.shape), axis);
    const dtype = all.map((t) => t.dtype).reduce((p, c) => upcastType(p, c) as DataType);
    const xs = all.filter((t) => sizeOf(t.shape) > 0);
    if (xs.length === 0) return args.backend.makeOutput(outShape, dtype);
    backend_util.assertParamsConsistent(xs.map((t) => t.shape), axis);
    const cs = xs.map((t) => castInfo(args.backend, t, dtype));
    const y = concat(args.backend, cs, axis);
    release(args.backend, ...cs);
    return y;
  }),
  kernel('Pack', (args) => {
    const xs = inputList(args);
    const rank = xs[0].shape.length;
    let axis = (args.attrs as { axis: number }).axis;
    if (axis < 0) axis += rank + 1;
    const expanded = xs.map((t) => {
      const s = [...t.shape];
      s.splice(axis, 0, 1);
      return reshapeInfo(args.backend, t, s);
    });
    const y = concat(args.backend, expanded, axis);
    release(args.backend, ...expanded);
    return y;
  }),
  kernel('Unpack', (args) => {
    const x = input(args, 'value', 'Unpack');
    const axis = axesOf((args.attrs as { axis: number }).axis, x.shape.length)[0];
    const n = x.shape[axis];
    const outShape = x.shape.filter((_, k) => k !== axis);
    const res: TensorInfo[] = [];
    for (let i = 0; i < n; i++) {
      const begin = x.shape.map((_, k) => (k === axis ? i : 0));
      const size = x.shape.map((d, k) => (k === axis ? 1 : d));
      const s = sliceInfo(args.backend, x, begin, size);
      res.push({ ...s, shape: outShape });
    }
    return res;
  }),
  kernel('SplitV', (args) => {
    const x = input(args, 'x', 'SplitV');
    const { numOrSizeSplits } = args.attrs as { numOrSizeSplits: number | number[] };
    const axis = axesOf((args.attrs as { axis: number }).axis, x.shape.length)[0];
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, axis);
    const res: TensorInfo[] = [];
    let at = 0;
    for (const s of sizes) {
      const begin = x.shape.map((_, k) => (k === axis ? at : 0));
      const size = x.shape.map((d, k) => (k === axis ? s : d));
      res.push(sliceInfo(args.backend, x, begin, size));
      at += s;
    }
    return res;
  }),
  kernel('Tile', (args) => {
    const x = input(args, 'x', 'Tile');
    const { reps } = args.attrs as { reps: number[] };
    if (reps.length !== x.shape.length) throw new Error(`Tile: reps [${reps}] must have the rank of the input [${x.shape}]`);
    const d = plainDesc(x.shape);
    d.shape = x.shape.map((n, k) => n * reps[k]);
    x.shape.forEach((n, k) => {
      if (reps[k] === 1) return;
      if (n === 1) d.step[k] = 0;
      else d.mod[k] = n;
    });
    return runCopy(args.backend, x, d);
  }),
  kernel('PadV2', (args) => {
    const x = input(args, 'x', 'PadV2');
    const { paddings, constantValue } = args.attrs as { paddings: [number, number][]; constantValue: number };
    const d = plainDesc(x.shape);
    d.shape = x.shape.map((n, k) => paddings[k][0] + n + paddings[k][1]);
    d.begin = paddings.map((p) => -p[0]);
    return runCopy(args.backend, x, d, constantValue ?? 0);
  }),
  kernel('Reverse', (args) => {
    const x = input(args, 'x', 'Reverse');
    const dims = axesOf((args.attrs as { dims: number | number[] }).dims, x.shape.length);
    const d = plainDesc(x.shape);
    for (const k of dims) {
      d.begin[k] = x.shape[k] - 1;
      d.step[k] = -1;
    }
    return runCopy(args.backend, x, d);
  }),
];

/**
 * Element-wise binary kernels of the cuda backend with numpy broadcasting (Add, Sub, Multiply,
 * RealDiv, Maximum, Pow, ..., comparisons and logical ops writing bool), Select (where) and AddN.
 * Operands are read through broadcast strides after merging dimensions that are contiguous in
 * all of them; same-shape operands take the stride-free path.
 */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { upcastType } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import { broadcastShape, broadcastStrides, mergeDims, sizeOf, stridesOf } from '../shape.js';
import { castInfo, input, inputList, kernel, NO_DIMS, opIndex, release } from './util.js';

/** How a binary kernel's output dtype is chosen. */
type OutKind = 'upcast' | 'bool' | 'int32';

/** Runs binary op `name` on `a` and `b` with broadcasting. @internal */
export function binary(b: CudaBackend, name: string, a: TensorInfo, bb: TensorInfo, kind: OutKind = 'upcast'): TensorInfo {
  const op = opIndex(b.addon.binaryOps, name);
  let dt = upcastType(a.dtype, bb.dtype) as DataType;
  if (dt === 'string' || dt === 'complex64') throw new Error(`${name}: dtype '${dt}' is not supported by the cuda backend`);
  const logical = kind === 'bool';
  if (!logical && dt === 'bool') dt = 'int32'; // arithmetic on bool is done in int32
  const outDtype: DataType = kind === 'bool' ? 'bool' : kind === 'int32' ? 'int32' : upcastType(a.dtype, bb.dtype) === 'bool' ? 'bool' : dt;
  const ca = castInfo(b, a, dt);
  const cb = castInfo(b, bb, dt);
  const outShape = broadcastShape(a.shape, bb.shape);
  const kernelOut: DataType = logical ? 'bool' : dt;
  const y = b.makeOutput(outShape, kernelOut);
  const n = sizeOf(outShape);
  if (n > 0) {
    const m = mergeDims(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(bb.shape, outShape), stridesOf(outShape)]);
    const contiguous = m.shape.length === 0 || (m.shape.length === 1 && m.strides[0][0] === 1 && m.strides[1][0] === 1);
    if (contiguous) {
      b.native.binary({ op, dtIn: dtypeCode(dt), dtOut: dtypeCode(kernelOut), a: b.ptr(ca), b: b.ptr(cb), y: b.ptr(y), n, mode: 0, shape: NO_DIMS, strideA: NO_DIMS, strideB: NO_DIMS });
    } else {
      if (m.shape.length > b.addon.maxDims) throw new Error(`${name}: ${m.shape.length} broadcast dimensions after merging (at most ${b.addon.maxDims})`);
      b.native.binary({ op, dtIn: dtypeCode(dt), dtOut: dtypeCode(kernelOut), a: b.ptr(ca), b: b.ptr(cb), y: b.ptr(y), n, mode: 1, shape: m.shape, strideA: m.strides[0], strideB: m.strides[1] });
    }
  }
  release(b, ca, cb);
  if (kernelOut !== outDtype) {
    const z = castInfo(b, y, outDtype);
    release(b, y);
    return z;
  }
  return y;
}

/** `cond ? t : e` with broadcasting of all three. @internal */
export function select(b: CudaBackend, cond: TensorInfo, t: TensorInfo, e: TensorInfo): TensorInfo {
  const dt = upcastType(t.dtype, e.dtype) as DataType;
  const cc = castInfo(b, cond, 'bool');
  const ct = castInfo(b, t, dt);
  const ce = castInfo(b, e, dt);
  // tfjs also accepts a rank-1 condition selecting whole rows of t/e.
  const condShape = cond.shape.length === 1 && t.shape.length > 1 && cond.shape[0] === t.shape[0] ? [cond.shape[0], ...t.shape.slice(1).map(() => 1)] : cond.shape;
  const outShape = broadcastShape(condShape, t.shape, e.shape);
  const y = b.makeOutput(outShape, dt);
  const n = sizeOf(outShape);
  if (n > 0) {
    const m = mergeDims(outShape, [broadcastStrides(condShape, outShape), broadcastStrides(t.shape, outShape), broadcastStrides(e.shape, outShape), stridesOf(outShape)]);
    const contiguous = m.shape.length === 0 || (m.shape.length === 1 && m.strides.every((s) => s[0] === 1));
    const ptrs = { dt: dtypeCode(dt), cond: b.ptr(cc), t: b.ptr(ct), e: b.ptr(ce), y: b.ptr(y), n };
    if (contiguous) b.native.select({ ...ptrs, mode: 0, shape: NO_DIMS, strideCond: NO_DIMS, strideT: NO_DIMS, strideE: NO_DIMS });
    else b.native.select({ ...ptrs, mode: 1, shape: m.shape, strideCond: m.strides[0], strideT: m.strides[1], strideE: m.strides[2] });
  }
  release(b, cc, ct, ce);
  return y;
}

function bin(name: string, kind: OutKind = 'upcast', names: [string, string] = ['a', 'b']): KernelConfig {
  return kernel(name, (args) => binary(args.backend, name, input(args, names[0], name), input(args, names[1], name), kind));
}

/** The binary kernels, Select and AddN. */
export const binaryKernels: KernelConfig[] = [
  ...['Add', 'Sub', 'Multiply', 'RealDiv', 'Mod', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'Atan2'].map((n) => bin(n)),
  bin('FloorDiv', 'int32'),
  bin('Prelu', 'upcast', ['x', 'alpha']),
  bin('EluGrad', 'upcast', ['dy', 'y']),
  ...['Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor'].map((n) => bin(n, 'bool')),
  kernel('Select', (args) => select(args.backend, input(args, 'condition', 'Select'), input(args, 't', 'Select'), input(args, 'e', 'Select'))),
  kernel('AddN', (args) => {
    const xs = inputList(args);
    if (xs.length === 0) throw new Error('AddN: no inputs');
    if (xs.length === 1) return castInfo(args.backend, xs[0], xs[0].dtype);
    let acc = binary(args.backend, 'Add', xs[0], xs[1]);
    for (let i = 2; i < xs.length; i++) {
      const next = binary(args.backend, 'Add', acc, xs[i]);
      release(args.backend, acc);
      acc = next;
    }
    return acc;
  }),
];

/**
 * Creation and dtype kernels of the cuda backend: Cast, Fill, ZerosLike, OnesLike, Range, OneHot,
 * and the views that share a data id with their input (Identity, Reshape, ExpandDims).
 */
import type { DataType, KernelConfig } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import { sizeOf } from '../shape.js';
import { castInfo, input, kernel, reshapeInfo } from './util.js';

/** A tensor of `shape` filled with `value` on the device. @internal */
export function fill(b: CudaBackend, shape: number[], dtype: DataType, value: number) {
  if (dtype === 'string' || dtype === 'complex64') throw new Error(`Fill: dtype '${dtype}' is not supported by the cuda backend`);
  const y = b.makeOutput(shape, dtype);
  b.native.fill({ dt: dtypeCode(dtype), y: b.ptr(y), n: sizeOf(shape), value });
  return y;
}

/** The creation and dtype kernels. */
export const creationKernels: KernelConfig[] = [
  kernel('Cast', (args) => castInfo(args.backend, input(args, 'x', 'Cast'), (args.attrs as { dtype: DataType }).dtype)),
  kernel('Identity', (args) => castInfo(args.backend, input(args, 'x', 'Identity'), input(args, 'x', 'Identity').dtype)),
  kernel('Reshape', (args) => reshapeInfo(args.backend, input(args, 'x', 'Reshape'), (args.attrs as { shape: number[] }).shape)),
  kernel('ExpandDims', (args) => {
    const x = input(args, 'input', 'ExpandDims');
    let dim = (args.attrs as { dim: number }).dim;
    if (dim < 0) dim = x.shape.length + dim + 1;
    const shape = [...x.shape];
    shape.splice(dim, 0, 1);
    return reshapeInfo(args.backend, x, shape);
  }),
  kernel('Fill', (args) => {
    const { shape, value, dtype } = args.attrs as { shape: number[]; value: number | string; dtype: DataType };
    if (typeof value === 'string') throw new Error('Fill: string tensors are not supported by the cuda backend');
    return fill(args.backend, shape, dtype ?? 'float32', value);
  }),
  kernel('ZerosLike', (args) => {
    const x = input(args, 'x', 'ZerosLike');
    return fill(args.backend, x.shape, x.dtype, 0);
  }),
  kernel('OnesLike', (args) => {
    const x = input(args, 'x', 'OnesLike');
    return fill(args.backend, x.shape, x.dtype, 1);
  }),
  kernel('Range', (args) => {
    const { start, stop, dtype } = args.attrs as { start: number; stop: number; step: number; dtype: 'float32' | 'int32' };
    let { step } = args.attrs as { step: number };
    const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
    const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
    if (stop < start && step === 1) step = -1;
    const y = args.backend.makeOutput([n], dtype);
    args.backend.native.range({ dt: dtypeCode(dtype), y: args.backend.ptr(y), n, start, step });
    return y;
  }),
  kernel('OneHot', (args) => {
    const b = args.backend;
    const idx = input(args, 'indices', 'OneHot');
    const { depth, onValue, offValue, dtype } = args.attrs as { depth: number; onValue: number; offValue: number; dtype?: DataType };
    const outDtype: DataType = dtype ?? 'int32';
    const ci = castInfo(b, idx, 'int32');
    const y = b.makeOutput([...idx.shape, depth], outDtype);
    b.native.oneHot({ dt: dtypeCode(outDtype), idx: b.ptr(ci), y: b.ptr(y), n: sizeOf(idx.shape), depth, on: onValue, off: offValue });
    b.disposeIntermediateTensorInfo(ci);
    return y;
  }),
];

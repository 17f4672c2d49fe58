/**
 * Reduction kernels of the cuda backend: Sum, Prod, Max, Min, Mean, All, Any over any axes
 * (reduced axes that form one run are reduced in place as [outer, R, inner]; others are
 * transposed last first), ArgMax/ArgMin, Cumsum/Cumprod. dtypes follow tfjs-backend-cpu: sum
 * and prod of int32/bool give int32, mean gives float32, all/any give bool.
 */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import { reductionPlan, sizeOf } from '../shape.js';
import { binary } from './binary.js';
import { axesOf, castInfo, input, kernel, opIndex, release, transposeInfo } from './util.js';

/** Reduces `x` over `axes` with reduction `op`, in dtype `dtype`. @internal */
export function reduce(b: CudaBackend, op: string, x: TensorInfo, axes: number[], keepDims: boolean, dtype: DataType): TensorInfo {
  const rank = x.shape.length;
  const red = new Set(axes);
  const outShape = keepDims ? x.shape.map((d, k) => (red.has(k) ? 1 : d)) : x.shape.filter((_, k) => !red.has(k));
  const plan = reductionPlan(x.shape, axes);
  let src = castInfo(b, x, dtype);
  if (plan.perm && rank > 0) {
    const t = transposeInfo(b, src, plan.perm);
    release(b, src);
    src = t;
  }
  const y = b.makeOutput(outShape, dtype);
  b.native.reduce({ op: opIndex(b.addon.reduceOps, op), dt: dtypeCode(dtype), x: b.ptr(src), y: b.ptr(y), outer: plan.outer, r: plan.r, inner: plan.inner });
  release(b, src);
  return y;
}

function reduction(name: string, op: string, axisAttr: string, dtypeOf: (x: TensorInfo) => DataType): KernelConfig {
  return kernel(name, (args) => {
    const x = input(args, 'x', name);
    const attrs = args.attrs as Record<string, unknown>;
    const axes = axesOf(attrs[axisAttr], x.shape.length);
    return reduce(args.backend, op, x, axes, Boolean(attrs.keepDims), dtypeOf(x));
  });
}

const sumType = (x: TensorInfo): DataType => (x.dtype === 'float32' ? 'float32' : 'int32');

function argReduce(name: string, isMax: boolean): KernelConfig {
  return kernel(name, (args) => {
    const b = args.backend;
    const x = input(args, 'x', name);
    const axis = axesOf((args.attrs as { axis: number }).axis, x.shape.length)[0];
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const cx = castInfo(b, x, x.dtype === 'bool' ? 'int32' : x.dtype);
    const y = b.makeOutput(x.shape.filter((_, k) => k !== axis), 'int32');
    b.native.argReduce({ isMax, dt: dtypeCode(cx.dtype), x: b.ptr(cx), y: b.ptr(y), outer, r: x.shape[axis], inner });
    release(b, cx);
    return y;
  });
}

function cumulative(name: string, isProd: boolean): KernelConfig {
  return kernel(name, (args) => {
    const b = args.backend;
    const x = input(args, 'x', name);
    const { exclusive, reverse } = args.attrs as { axis: number; exclusive: boolean; reverse: boolean };
    const axis = axesOf((args.attrs as { axis: number }).axis, x.shape.length)[0];
    const dtype: DataType = x.dtype === 'bool' ? 'int32' : x.dtype;
    const cx = castInfo(b, x, dtype);
    const y = b.makeOutput(x.shape, dtype);
    b.native.cumulative({ isProd, dt: dtypeCode(dtype), x: b.ptr(cx), y: b.ptr(y), outer: sizeOf(x.shape.slice(0, axis)), r: x.shape[axis], inner: sizeOf(x.shape.slice(axis + 1)), exclusive: !!exclusive, reverse: !!reverse });
    release(b, cx);
    return y;
  });
}

/** The reduction and scan kernels. */
export const reduceKernels: KernelConfig[] = [
  reduction('Sum', 'Sum', 'axis', sumType),
  reduction('Prod', 'Prod', 'axis', sumType),
  reduction('Max', 'Max', 'reductionIndices', (x) => x.dtype),
  reduction('Min', 'Min', 'axis', (x) => x.dtype),
  reduction('All', 'All', 'axis', () => 'bool'),
  reduction('Any', 'Any', 'axis', () => 'bool'),
  kernel('Mean', (args) => {
    const b = args.backend;
    const x = input(args, 'x', 'Mean');
    const attrs = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = axesOf(attrs.axis, x.shape.length);
    const s = reduce(b, 'Sum', x, axes, !!attrs.keepDims, 'float32');
    const count = sizeOf(axes.map((k) => x.shape[k]));
    const n = b.makeTensorInfo([], 'float32', new Float32Array([count]));
    const y = binary(b, 'RealDiv', s, n);
    release(b, s, n);
    return y;
  }),
  argReduce('ArgMax', true),
  argReduce('ArgMin', false),
  cumulative('Cumsum', false),
  cumulative('Cumprod', true),
];

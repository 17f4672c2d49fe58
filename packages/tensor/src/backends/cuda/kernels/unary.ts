/**
 * Element-wise unary kernels of the cuda backend (Neg, Exp, Sigmoid, ClipByValue, IsNan, ...).
 * Output dtypes follow tfjs-backend-cpu: the input's dtype, except Exp (float32) and the
 * predicates IsNan/IsInf/IsFinite/LogicalNot (bool). bool inputs are computed as int32.
 */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import { sizeOf } from '../shape.js';
import type { Args } from './util.js';
import { castInfo, input, kernel, opIndex, release } from './util.js';

/** Runs unary op `name` on `x`, writing `outDtype`. @internal */
export function unary(b: CudaBackend, name: string, x: TensorInfo, outDtype: DataType, p0 = 0, p1 = 0): TensorInfo {
  const op = opIndex(b.addon.unaryOps, name);
  let xin = x;
  if (x.dtype === 'bool' && name !== 'LogicalNot') xin = castInfo(b, x, 'int32');
  if (name === 'LogicalNot' && x.dtype !== 'bool') xin = castInfo(b, x, 'bool');
  let kernelOut = outDtype;
  if (outDtype === 'bool' && name !== 'LogicalNot' && !['IsNan', 'IsInf', 'IsFinite'].includes(name)) kernelOut = 'int32';
  const y = b.makeOutput(x.shape, kernelOut);
  b.native.unary({ op, dtIn: dtypeCode(xin.dtype), dtOut: dtypeCode(kernelOut), x: b.ptr(xin), y: b.ptr(y), n: sizeOf(x.shape), p0, p1 });
  if (xin !== x) release(b, xin);
  if (kernelOut !== outDtype) {
    const z = castInfo(b, y, outDtype);
    release(b, y);
    return z;
  }
  return y;
}

const SAME = ['Neg', 'Abs', 'Sign', 'Square', 'Sqrt', 'Rsqrt', 'Expm1', 'Log', 'Log1p', 'Sigmoid', 'Softplus', 'Tanh', 'Relu', 'Relu6', 'Elu', 'Selu', 'Erf', 'Round', 'Floor', 'Ceil', 'Reciprocal', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh'];

function simple(name: string, out?: DataType): KernelConfig {
  return kernel(name, (args: Args) => {
    const x = input(args, 'x', name);
    return unary(args.backend, name, x, out ?? x.dtype);
  });
}

/** The unary kernels. */
export const unaryKernels: KernelConfig[] = [
  ...SAME.map((n) => simple(n)),
  simple('Exp', 'float32'),
  simple('IsNan', 'bool'),
  simple('IsInf', 'bool'),
  simple('IsFinite', 'bool'),
  simple('LogicalNot', 'bool'),
  kernel('ClipByValue', (args) => {
    const x = input(args, 'x', 'ClipByValue');
    const { clipValueMin, clipValueMax } = args.attrs as { clipValueMin: number; clipValueMax: number };
    return unary(args.backend, 'ClipByValue', x, x.dtype, clipValueMin, clipValueMax);
  }),
  kernel('Step', (args) => {
    const x = input(args, 'x', 'Step');
    return unary(args.backend, 'Step', x, x.dtype, (args.attrs as { alpha: number }).alpha ?? 0);
  }),
  kernel('LeakyRelu', (args) => {
    const x = input(args, 'x', 'LeakyRelu');
    return unary(args.backend, 'LeakyRelu', x, x.dtype, (args.attrs as { alpha: number }).alpha ?? 0.2);
  }),
];

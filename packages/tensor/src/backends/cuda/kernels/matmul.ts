/**
 * Matrix-product kernels of the cuda backend: BatchMatMul (transposes, broadcast batch dims) and
 * _FusedMatMul (product + bias + activation), through cuBLASLt. float32 inputs are rounded as the
 * backend's `matmulPrecision` says (TF32 tensor cores, bf16 tensor cores over bf16 copies, or exact
 * f32; float32 accumulation and output in every mode); int32 products are computed in exact f32.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend, MatmulPrecision } from '../backend.js';
import { broadcastShape, sizeOf, stridesOf } from '../shape.js';
import { binary } from './binary.js';
import { unary } from './unary.js';
import { castInfo, input, kernel, release, runCopy } from './util.js';

/** Materialises `x` broadcast to `shape` (same rank or lower). */
function broadcastTo(b: CudaBackend, x: TensorInfo, shape: number[]): TensorInfo {
  const xs = [...Array(shape.length - x.shape.length).fill(1), ...x.shape];
  const st = stridesOf(xs);
  return runCopy(b, x, {
    shape: [...shape],
    begin: shape.map(() => 0),
    step: shape.map((d, k) => (xs[k] === 1 && d !== 1 ? 0 : 1)),
    mod: shape.map(() => 0),
    limit: xs,
    stride: st,
    offset: 0,
  });
}

/** The addon's `precision` code of each {@link MatmulPrecision} (csrc/cublaslt.h `MatmulPrecision`). */
const PRECISION_CODE: Record<MatmulPrecision, number> = { f32: 0, tf32: 1, bf16: 2 };

/**
 * The addon's precision code for a product under `precision`; int32 products are always exact f32
 * (their values must not be rounded to TF32 or bf16). Throws for an unknown precision.
 */
function precisionCode(precision: MatmulPrecision, isInt: boolean): number {
  if (!Object.prototype.hasOwnProperty.call(PRECISION_CODE, precision)) {
    throw new Error(`BatchMatMul: the cuda backend's matmulPrecision must be 'tf32', 'bf16' or 'f32', got '${String(precision)}'`);
  }
  return isInt ? PRECISION_CODE.f32 : PRECISION_CODE[precision];
}

/** `op(a) · op(b)` with tfjs's BatchMatMul semantics. @internal */
export function batchMatMul(b: CudaBackend, a: TensorInfo, bb: TensorInfo, transA: boolean, transB: boolean): TensorInfo {
  if (a.shape.length < 2 || bb.shape.length < 2) throw new Error(`BatchMatMul: inputs must have rank ≥ 2, got [${a.shape}] and [${bb.shape}]`);
  const ra = a.shape.length,
    rb = bb.shape.length;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? bb.shape[rb - 1] : bb.shape[rb - 2];
  const n = transB ? bb.shape[rb - 2] : bb.shape[rb - 1];
  if (ka !== kb) throw new Error(`BatchMatMul: inner dimensions differ: [${a.shape}] and [${bb.shape}] (transposeA=${transA}, transposeB=${transB})`);
  const batchA = a.shape.slice(0, -2),
    batchB = bb.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  const nb = sizeOf(batch);
  const isInt = a.dtype === 'int32' || bb.dtype === 'int32';
  const precision = precisionCode(b.matmulPrecision, isInt);
  let ca = castInfo(b, a, 'float32');
  let cb = castInfo(b, bb, 'float32');
  let strideA = m * ka,
    strideB = ka * n;
  if (sizeOf(batchA) !== nb) {
    if (sizeOf(batchA) === 1) strideA = 0;
    else {
      const t = broadcastTo(b, ca, [...batch, ...a.shape.slice(-2)]);
      release(b, ca);
      ca = t;
    }
  }
  if (sizeOf(batchB) !== nb) {
    if (sizeOf(batchB) === 1) strideB = 0;
    else {
      const t = broadcastTo(b, cb, [...batch, ...bb.shape.slice(-2)]);
      release(b, cb);
      cb = t;
    }
  }
  const y = b.makeOutput([...batch, m, n], 'float32');
  b.native.matmul({ a: b.ptr(ca), b: b.ptr(cb), c: b.ptr(y), m, n, k: ka, batch: nb, strideA, strideB, transA, transB, precision });
  release(b, ca, cb);
  if (isInt) {
    const z = castInfo(b, y, 'int32');
    release(b, y);
    return z;
  }
  return y;
}

/** The matrix-product kernels. */
export const matmulKernels: KernelConfig[] = [
  kernel('BatchMatMul', (args) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    return batchMatMul(args.backend, input(args, 'a', 'BatchMatMul'), input(args, 'b', 'BatchMatMul'), !!transposeA, !!transposeB);
  }),
  kernel('_FusedMatMul', (args) => {
    const b = args.backend;
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as { transposeA: boolean; transposeB: boolean; activation: string; leakyreluAlpha?: number };
    const named = args.inputs as Record<string, TensorInfo | undefined>;
    let y = batchMatMul(b, input(args, 'a', '_FusedMatMul'), input(args, 'b', '_FusedMatMul'), !!transposeA, !!transposeB);
    const step = (next: TensorInfo) => {
      release(b, y);
      y = next;
    };
    if (named.bias) step(binary(b, 'Add', y, named.bias));
    switch (activation ?? 'linear') {
      case 'linear':
        break;
      case 'relu':
        step(unary(b, 'Relu', y, y.dtype));
        break;
      case 'relu6':
        step(unary(b, 'Relu6', y, y.dtype));
        break;
      case 'elu':
        step(unary(b, 'Elu', y, y.dtype));
        break;
      case 'sigmoid':
        step(unary(b, 'Sigmoid', y, y.dtype));
        break;
      case 'leakyrelu':
        step(unary(b, 'LeakyRelu', y, y.dtype, leakyreluAlpha ?? 0.2));
        break;
      case 'prelu':
        if (!named.preluActivationWeights) throw new Error('_FusedMatMul: prelu needs preluActivationWeights');
        step(binary(b, 'Prelu', y, named.preluActivationWeights));
        break;
      default:
        throw new Error(`_FusedMatMul: activation '${activation}' is not supported by the cuda backend`);
    }
    return y;
  }),
];

/** The `cuda` kernels of `FalconRmsNorm` and `FalconRmsNormBackward` (csrc/rms_norm.cu). */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../op/define_op.js';
import type { CudaBackend } from '../../backends/cuda/backend.js';

/** Rows, row length and weight groups of an RMSNorm problem. */
function layout(x: tf.TensorInfo, weight: tf.TensorInfo): { rows: number; dim: number; groups: number } {
  const dim = x.shape[x.shape.length - 1];
  const wsize = weight.shape.reduce((a, b) => a * b, 1);
  const size = x.shape.reduce((a, b) => a * b, 1);
  return { rows: dim === 0 ? 0 : size / dim, dim, groups: dim === 0 ? 1 : wsize / dim };
}

/** `cuda` kernel of the forward. */
export function rmsNormCuda({ inputs: { x, weight }, attrs: { eps }, backend }: KernelArgs<'x' | 'weight', never, { eps: number }>): { y: tf.TensorInfo } {
  const b = backend as CudaBackend;
  const { rows, dim, groups } = layout(x, weight);
  const y = b.makeOutput(x.shape, 'float32');
  b.native.rmsNorm({ x: b.ptr(x), w: b.ptr(weight), y: b.ptr(y), rows, dim, groups, eps });
  return { y };
}

/** `cuda` kernel of the backward. */
export function rmsNormBackwardCuda({
  inputs: { dy, x, weight },
  attrs: { eps },
  backend,
}: KernelArgs<'dy' | 'x' | 'weight', never, { eps: number }>): { dx: tf.TensorInfo; dw: tf.TensorInfo } {
  const b = backend as CudaBackend;
  const { rows, dim, groups } = layout(x, weight);
  const dx = b.makeOutput(x.shape, 'float32');
  const dw = b.makeOutput(weight.shape, 'float32');
  b.native.rmsNormBackward({ dy: b.ptr(dy), x: b.ptr(x), w: b.ptr(weight), dx: b.ptr(dx), dw: b.ptr(dw), rows, dim, groups, eps });
  return { dx, dw };
}

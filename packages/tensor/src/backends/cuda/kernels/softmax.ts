/**
 * Softmax and LogSoftmax kernels of the cuda backend (over the last dim, as tfjs requires;
 * float32). tfjs-core's `logSoftmax` op is a composite today; the LogSoftmax kernel serves
 * callers that run it directly.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { sizeOf } from '../shape.js';
import { castInfo, input, kernel, release } from './util.js';

function softmax(b: CudaBackend, name: string, x: TensorInfo, dim: number | undefined, log: boolean): TensorInfo {
  const rank = x.shape.length;
  const d = dim === undefined || dim === -1 ? rank - 1 : dim < 0 ? dim + rank : dim;
  if (d !== rank - 1) throw new Error(`${name}: only the last dimension is supported (got dim ${dim} for rank ${rank})`);
  const cx = castInfo(b, x, 'float32');
  const y = b.makeOutput(x.shape, 'float32');
  const cols = rank === 0 ? 1 : x.shape[rank - 1];
  const rows = cols === 0 ? 0 : sizeOf(x.shape) / cols;
  b.native.softmax({ x: b.ptr(cx), y: b.ptr(y), rows, cols, log });
  release(b, cx);
  return y;
}

/** The softmax kernels. */
export const softmaxKernels: KernelConfig[] = [
  kernel('Softmax', (args) => softmax(args.backend, 'Softmax', input(args, 'logits', 'Softmax'), (args.attrs as { dim?: number }).dim, false)),
  kernel('LogSoftmax', (args) => softmax(args.backend, 'LogSoftmax', input(args, 'logits', 'LogSoftmax'), (args.attrs as { axis?: number }).axis, true)),
];

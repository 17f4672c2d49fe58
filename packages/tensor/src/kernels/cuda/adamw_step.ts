/** The `cuda` kernel of `FalconAdamwStep` (csrc/adamw_step.cu): one launch per parameter, no host read. */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../../op/define_op.js';
import type { CudaBackend } from '../../backends/cuda/backend.js';
import type { AdamwStepAttrs, AdamwStepInputName, AdamwStepOptionalName, AdamwStepOutputName } from '../../adamw_step_signature.js';
import { adamwConstants } from '../../adamw_step_signature.js';

/** `cuda` kernel of `FalconAdamwStep`. @internal */
export function adamwStepCuda({
  inputs: { param, grad, m, v, gradScale },
  attrs,
  backend,
}: KernelArgs<AdamwStepInputName, AdamwStepOptionalName, AdamwStepAttrs>): Record<AdamwStepOutputName, tf.TensorInfo> {
  const b = backend as CudaBackend;
  const k = adamwConstants(attrs);
  const n = param.shape.reduce((a, c) => a * c, 1);
  const paramOut = b.makeOutput(param.shape, 'float32');
  const mOut = b.makeOutput(param.shape, 'float32');
  const vOut = b.makeOutput(param.shape, 'float32');
  b.addon.adamwStep(b.ptr(param), b.ptr(grad), b.ptr(m), b.ptr(v), gradScale ? b.ptr(gradScale) : 0, b.ptr(paramOut), b.ptr(mOut), b.ptr(vOut), n, k.b1, k.omb1, k.b2, k.omb2, k.bc1, k.bc2, k.eps, k.lr, k.decay);
  return { paramOut, mOut, vOut };
}

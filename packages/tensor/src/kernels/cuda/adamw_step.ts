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
  b.native.adamwStep({
    p: b.ptr(param),
    g: b.ptr(grad),
    m: b.ptr(m),
    v: b.ptr(v),
    scale: gradScale ? b.ptr(gradScale) : 0,
    pOut: b.ptr(paramOut),
    mOut: b.ptr(mOut),
    vOut: b.ptr(vOut),
    n,
    ...k,
  });
  return { paramOut, mOut, vOut };
}

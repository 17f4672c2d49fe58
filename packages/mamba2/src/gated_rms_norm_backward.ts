/**
 * `FalconGatedRmsNormBackward`: the gradient of `gatedRmsNorm` as an op with cpu, webgpu and cuda
 * (`csrc/gated_rms_norm_backward.cu`) kernels (gradients of x, weight and z from dy).
 */
import { defineOp } from '@falcon/tensor';
import type { GatedRmsNormAttrs } from './gated_rms_norm.js';
import { gatedRmsNormBackwardCpu } from './kernels/cpu/gated_rms_norm_backward.js';
import { gatedRmsNormBackwardCuda } from './kernels/cuda/gated_rms_norm_backward.js';
import { gatedRmsNormBackwardWebgpu } from './kernels/webgpu/gated_rms_norm_backward.js';

/** The op: inputs x, weight, dy (and z); outputs dx, dweight, dz (`[0]` without z). @internal */
export const gatedRmsNormBackwardOp = defineOp<'x' | 'weight' | 'dy', 'z', GatedRmsNormAttrs, 'dx' | 'dweight' | 'dz'>({
  name: 'FalconGatedRmsNormBackward',
  inputs: ['x', 'weight', 'dy'],
  optionalInputs: ['z'],
  outputs: ['dx', 'dweight', 'dz'],
  kernels: { cpu: gatedRmsNormBackwardCpu, webgpu: gatedRmsNormBackwardWebgpu, cuda: gatedRmsNormBackwardCuda },
});

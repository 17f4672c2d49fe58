/**
 * `FalconGatedRmsNormBackward`: the gradient of `gatedRmsNorm` as an op with cpu, webgpu and cuda
 * (`csrc/gated_rms_norm_backward.cu`) kernels (gradients of x, weight and z from dy).
 */
import { defineOp } from '@falcon/tensor';
import { gatedRmsNormBackwardSignature } from './gated_rms_norm_backward_signature.js';
import type {
  GatedRmsNormBackwardAttrs,
  GatedRmsNormBackwardInputName,
  GatedRmsNormBackwardOptionalName,
  GatedRmsNormBackwardOutputName,
} from './gated_rms_norm_backward_signature.js';
import { gatedRmsNormBackwardCpu } from './kernels/cpu/gated_rms_norm_backward.js';
import { gatedRmsNormBackwardCuda } from './kernels/cuda/gated_rms_norm_backward.js';
import { gatedRmsNormBackwardWebgpu } from './kernels/webgpu/gated_rms_norm_backward.js';

/** The op: inputs x, weight, dy (and z); outputs dx, dweight, dz (`[0]` without z). @internal */
export const gatedRmsNormBackwardOp = defineOp<GatedRmsNormBackwardInputName, GatedRmsNormBackwardOptionalName, GatedRmsNormBackwardAttrs, GatedRmsNormBackwardOutputName>({
  ...gatedRmsNormBackwardSignature,
  kernels: { cpu: gatedRmsNormBackwardCpu, webgpu: gatedRmsNormBackwardWebgpu, cuda: gatedRmsNormBackwardCuda },
});

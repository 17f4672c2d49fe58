/**
 * `FalconCausalConv1dBackward`: the gradient of `causalConv1d` as an op with cpu, webgpu and cuda
 * (`csrc/causal_conv1d_backward.cu`) kernels (gradients of x, weight, bias and the initial state
 * from the output and final-state gradients).
 */
import { defineOp } from '@falcon/tensor';
import { causalConv1dBackwardSignature } from './causal_conv1d_backward_signature.js';
import type {
  CausalConv1dBackwardAttrs,
  CausalConv1dBackwardInputName,
  CausalConv1dBackwardOptionalName,
  CausalConv1dBackwardOutputName,
} from './causal_conv1d_backward_signature.js';
import { causalConv1dBackwardCpu } from './kernels/cpu/causal_conv1d_backward.js';
import { causalConv1dBackwardCuda } from './kernels/cuda/causal_conv1d_backward.js';
import { causalConv1dBackwardWebgpu } from './kernels/webgpu/causal_conv1d_backward.js';

/** The op. @internal */
export const causalConv1dBackwardOp = defineOp<CausalConv1dBackwardInputName, CausalConv1dBackwardOptionalName, CausalConv1dBackwardAttrs, CausalConv1dBackwardOutputName>({
  ...causalConv1dBackwardSignature,
  kernels: { cpu: causalConv1dBackwardCpu, webgpu: causalConv1dBackwardWebgpu, cuda: causalConv1dBackwardCuda },
});

/**
 * `FalconCausalConv1dBackward`: the gradient of `causalConv1d` as an op with cpu, webgpu and cuda
 * (`csrc/causal_conv1d_backward.cu`) kernels (gradients of x, weight, bias and the initial state
 * from the output and final-state gradients).
 */
import { defineOp } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dInputName, CausalConv1dOptionalName } from './causal_conv1d.js';
import { causalConv1dBackwardCpu } from './kernels/cpu/causal_conv1d_backward.js';
import { causalConv1dBackwardCuda } from './kernels/cuda/causal_conv1d_backward.js';
import { causalConv1dBackwardWebgpu } from './kernels/webgpu/causal_conv1d_backward.js';

/** Required inputs: the forward's plus `dy` `[batch, seqlen, dim]` and `dFinalState` `[batch, dconv − 1, dim]`. @internal */
export type CausalConv1dBackwardInputName = CausalConv1dInputName | 'dy' | 'dFinalState';
/** Outputs (empty `[0]` tensors for absent bias / initial state). @internal */
export type CausalConv1dBackwardOutputName = 'dx' | 'dweight' | 'dbias' | 'dInitialState';

/** The op. @internal */
export const causalConv1dBackwardOp = defineOp<CausalConv1dBackwardInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dBackwardOutputName>({
  name: 'FalconCausalConv1dBackward',
  inputs: ['x', 'weight', 'dy', 'dFinalState'],
  optionalInputs: ['bias', 'initialState', 'seqIdx'],
  outputs: ['dx', 'dweight', 'dbias', 'dInitialState'],
  kernels: { cpu: causalConv1dBackwardCpu, webgpu: causalConv1dBackwardWebgpu, cuda: causalConv1dBackwardCuda },
});

/**
 * The signature of the op `FalconCausalConv1dBackward` (`causal_conv1d_backward.ts`): its kernel
 * name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { CausalConv1dAttrs, CausalConv1dOptionalName } from './causal_conv1d_signature.js';
import { causalConv1dSignature } from './causal_conv1d_signature.js';

/** Kernel name, inputs and outputs of `FalconCausalConv1dBackward`, in order. @internal */
export const causalConv1dBackwardSignature = {
  name: 'FalconCausalConv1dBackward',
  /** the forward's plus dy `[batch, seqlen, dim]` and dFinalState `[batch, dconv − 1, dim]` */
  inputs: [...causalConv1dSignature.inputs, 'dy', 'dFinalState'],
  /** the forward's */
  optionalInputs: causalConv1dSignature.optionalInputs,
  /** gradients of x, weight, bias and the initial state (empty `[0]` tensors for an absent bias / initial state) */
  outputs: ['dx', 'dweight', 'dbias', 'dInitialState'],
} as const;

/** Required inputs: the forward's plus `dy` and `dFinalState`. @internal */
export type CausalConv1dBackwardInputName = (typeof causalConv1dBackwardSignature.inputs)[number];
/** Optional inputs: the forward's. @internal */
export type CausalConv1dBackwardOptionalName = CausalConv1dOptionalName;
/** Outputs (empty `[0]` tensors for absent bias / initial state). @internal */
export type CausalConv1dBackwardOutputName = (typeof causalConv1dBackwardSignature.outputs)[number];
/** Attributes: the forward's. @internal */
export type CausalConv1dBackwardAttrs = CausalConv1dAttrs;

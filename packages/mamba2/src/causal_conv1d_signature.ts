/**
 * The signature of the op `FalconCausalConv1d` (`causal_conv1d.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconCausalConv1d`, in order. @internal */
export const causalConv1dSignature = {
  name: 'FalconCausalConv1d',
  /** x `[batch, seqlen, dim]`, weight `[dim, dconv]` */
  inputs: ['x', 'weight'],
  /** bias `[dim]`, initialState `[batch, dconv − 1, dim]`, seqIdx int32 `[batch, seqlen]` */
  optionalInputs: ['bias', 'initialState', 'seqIdx'],
  /** y `[batch, seqlen, dim]`, finalState `[batch, dconv − 1, dim]` */
  outputs: ['y', 'finalState'],
} as const;

/** Required inputs of the op. @internal */
export type CausalConv1dInputName = (typeof causalConv1dSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type CausalConv1dOptionalName = (typeof causalConv1dSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type CausalConv1dOutputName = (typeof causalConv1dSignature.outputs)[number];

/** Attributes of the op. @internal */
export interface CausalConv1dAttrs {
  /** Apply SiLU to the output. */
  silu: boolean;
}

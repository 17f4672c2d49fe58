/**
 * The signature of the op `FalconApplyRope` (`apply_rope.ts`): its kernel name, inputs, outputs
 * and attributes, imported by the op, its reference and its kernels.
 */

/** Kernel name, inputs and outputs of `FalconApplyRope`, in order. @internal */
export const applyRopeSignature = {
  name: 'FalconApplyRope',
  /** x `[batch, seqlen, heads, headDim]`, positions int32 `[seqlen]` or `[batch, seqlen]` */
  inputs: ['x', 'positions'],
  optionalInputs: [],
  /** y, shape of x */
  outputs: ['y'],
} as const;

/** Required inputs of the op. @internal */
export type ApplyRopeInputName = (typeof applyRopeSignature.inputs)[number];
/** Outputs of the op. @internal */
export type ApplyRopeOutputName = (typeof applyRopeSignature.outputs)[number];

/** Attributes of the RoPE op. */
export interface RopeAttrs {
  /** Inverse frequencies `[rotaryDim / 2]`. */
  invFreq: number[];
  /** Multiplier of cos and sin. */
  attentionScaling: number;
  /** Rotate by −angle instead (the transpose). */
  inverse: boolean;
}

/**
 * The signature of the op `FalconGatedRmsNormBackward` (`gated_rms_norm_backward.ts`): its kernel
 * name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { GatedRmsNormAttrs, GatedRmsNormOptionalName } from './gated_rms_norm_signature.js';
import { gatedRmsNormSignature } from './gated_rms_norm_signature.js';

/** Kernel name, inputs and outputs of `FalconGatedRmsNormBackward`, in order. @internal */
export const gatedRmsNormBackwardSignature = {
  name: 'FalconGatedRmsNormBackward',
  /** the forward's plus dy (shape of x) */
  inputs: [...gatedRmsNormSignature.inputs, 'dy'],
  /** the forward's */
  optionalInputs: gatedRmsNormSignature.optionalInputs,
  /** gradients of x, weight and z (`[0]` without z) */
  outputs: ['dx', 'dweight', 'dz'],
} as const;

/** Required inputs: the forward's plus `dy`. @internal */
export type GatedRmsNormBackwardInputName = (typeof gatedRmsNormBackwardSignature.inputs)[number];
/** Optional inputs: the forward's. @internal */
export type GatedRmsNormBackwardOptionalName = GatedRmsNormOptionalName;
/** Outputs of the op. @internal */
export type GatedRmsNormBackwardOutputName = (typeof gatedRmsNormBackwardSignature.outputs)[number];
/** Attributes: the forward's. @internal */
export type GatedRmsNormBackwardAttrs = GatedRmsNormAttrs;

/**
 * The signature of the op `FalconWeightQuant` (`weight_quant.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconWeightQuant`, in order. @internal */
export const weightQuantSignature = {
  name: 'FalconWeightQuant',
  /** w: the latent weight, float32, any non-empty shape */
  inputs: ['w'],
  /** meanAbs `[]` or `[1]`: mean|W| of the whole weight */
  optionalInputs: ['meanAbs'],
  /** y (shape of w), the dequantised ternary weight; scale `[1]` */
  outputs: ['y', 'scale'],
} as const;

/** Required inputs of the op. @internal */
export type WeightQuantInputName = (typeof weightQuantSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type WeightQuantOptionalName = (typeof weightQuantSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type WeightQuantOutputName = (typeof weightQuantSignature.outputs)[number];
/** Attributes of the op: none. @internal */
export type WeightQuantAttrs = Record<string, never>;

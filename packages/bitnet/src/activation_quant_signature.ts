/**
 * The signature of the op `FalconActivationQuant` (`activation_quant.ts`): its kernel name,
 * inputs, outputs and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconActivationQuant`, in order. @internal */
export const activationQuantSignature = {
  name: 'FalconActivationQuant',
  /** x `[..., features]` float32 */
  inputs: ['x'],
  /** absMax `[..., 1]`: max|x| per token over the whole feature dimension */
  optionalInputs: ['absMax'],
  /** y (shape of x), the dequantised activations; scale `[..., 1]` */
  outputs: ['y', 'scale'],
} as const;

/** Required inputs of the op. @internal */
export type ActivationQuantInputName = (typeof activationQuantSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type ActivationQuantOptionalName = (typeof activationQuantSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type ActivationQuantOutputName = (typeof activationQuantSignature.outputs)[number];
/** Attributes of the op: none. @internal */
export type ActivationQuantAttrs = Record<string, never>;

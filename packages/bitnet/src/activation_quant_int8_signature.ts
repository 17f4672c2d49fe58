/**
 * The signature of the op `FalconActivationQuantInt8` (`activation_quant_int8.ts`): its kernel
 * name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import { activationQuantSignature } from './activation_quant_signature.js';
import type { ActivationQuantAttrs, ActivationQuantInputName, ActivationQuantOptionalName } from './activation_quant_signature.js';

/** Kernel name, inputs and outputs of `FalconActivationQuantInt8`, in order. @internal */
export const activationQuantInt8Signature = {
  name: 'FalconActivationQuantInt8',
  /** as `FalconActivationQuant` */
  inputs: activationQuantSignature.inputs,
  /** as `FalconActivationQuant` */
  optionalInputs: activationQuantSignature.optionalInputs,
  /** q int32 (shape of x) holding int8 values; scale `[..., 1]` */
  outputs: ['q', 'scale'],
} as const;

/** Required inputs of the op. @internal */
export type ActivationQuantInt8InputName = ActivationQuantInputName;
/** Optional inputs of the op. @internal */
export type ActivationQuantInt8OptionalName = ActivationQuantOptionalName;
/** Outputs of the op. @internal */
export type ActivationQuantInt8OutputName = (typeof activationQuantInt8Signature.outputs)[number];
/** Attributes of the op: none. @internal */
export type ActivationQuantInt8Attrs = ActivationQuantAttrs;

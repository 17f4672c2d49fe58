/**
 * The signature of the op `FalconGatedRmsNorm` (`gated_rms_norm.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconGatedRmsNorm`, in order. @internal */
export const gatedRmsNormSignature = {
  name: 'FalconGatedRmsNorm',
  /** x `[..., dim]`, weight `[dim]` */
  inputs: ['x', 'weight'],
  /** the gate z, shape of x */
  optionalInputs: ['z'],
  /** y, shape of x */
  outputs: ['y'],
} as const;

/** Required inputs of the op. @internal */
export type GatedRmsNormInputName = (typeof gatedRmsNormSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type GatedRmsNormOptionalName = (typeof gatedRmsNormSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type GatedRmsNormOutputName = (typeof gatedRmsNormSignature.outputs)[number];

/** Attributes of the op. @internal */
export interface GatedRmsNormAttrs {
  /** Added to the mean square. */
  eps: number;
  /** Number of groups the last axis is split into, each normalised on its own. */
  ngroups: number;
  /** Normalise first, then multiply by silu(z) (else gate first). */
  normBeforeGate: boolean;
}

/**
 * The signature of the op `FalconTernaryMatmul` (`ternary_matmul.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconTernaryMatmul`, in order. @internal */
export const ternaryMatmulSignature = {
  name: 'FalconTernaryMatmul',
  /** x int32 `[..., inFeatures]` (int8 values), packed int32 `[words]` (the packed weight bytes as words) */
  inputs: ['x', 'packed'],
  optionalInputs: [],
  /** y int32 `[..., outFeatures]` */
  outputs: ['y'],
} as const;

/** Required inputs of the op. @internal */
export type TernaryMatmulInputName = (typeof ternaryMatmulSignature.inputs)[number];
/** Outputs of the op. @internal */
export type TernaryMatmulOutputName = (typeof ternaryMatmulSignature.outputs)[number];

/** Attributes of {@link ternaryMatmul}. */
export interface TernaryMatmulAttrs {
  /** Output features N (rows of the unpacked weight `[N, K]`). */
  outFeatures: number;
}

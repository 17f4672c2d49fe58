/**
 * The signature of the op `FalconAlibiBias` (`alibi_bias.ts`): its kernel name, inputs, outputs
 * and attributes, imported by the op and by its kernels.
 */

/** Kernel name, inputs and outputs of `FalconAlibiBias`, in order. @internal */
export const alibiBiasSignature = {
  name: 'FalconAlibiBias',
  /** slopes `[nHeads]` */
  inputs: ['slopes'],
  optionalInputs: [],
  /** bias `[nHeads, seqlenQ, seqlenK]` */
  outputs: ['bias'],
} as const;

/** Required inputs of the op. @internal */
export type AlibiBiasInputName = (typeof alibiBiasSignature.inputs)[number];
/** Outputs of the op. @internal */
export type AlibiBiasOutputName = (typeof alibiBiasSignature.outputs)[number];

/** Attributes of the ALiBi bias op. */
export interface AlibiAttrs {
  /** Number of queries. */
  seqlenQ: number;
  /** Number of keys. */
  seqlenK: number;
}

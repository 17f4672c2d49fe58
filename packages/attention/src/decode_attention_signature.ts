/**
 * The signature of the op `FalconDecodeAttention` (`decode_attention.ts`): its kernel name,
 * inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { AttentionAttrs } from './attention_attrs.js';

/** Kernel name, inputs and outputs of `FalconDecodeAttention`, in order. @internal */
export const decodeAttentionSignature = {
  name: 'FalconDecodeAttention',
  /** q `[batch, newTokens, nHeads, headDim]`, kCache and vCache `[batch, capacity, nKvHeads, headDim]` */
  inputs: ['q', 'kCache', 'vCache'],
  /** keyPaddingMask `[batch, capacity]`, alibiSlopes `[nHeads]` */
  optionalInputs: ['keyPaddingMask', 'alibiSlopes'],
  /** out `[batch, newTokens, nHeads, headDim]`, lse `[batch, nHeads, newTokens]` */
  outputs: ['out', 'lse'],
} as const;

/** Required inputs of the op. @internal */
export type DecodeAttentionInputName = (typeof decodeAttentionSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type DecodeAttentionOptionalName = (typeof decodeAttentionSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type DecodeAttentionOutputName = (typeof decodeAttentionSignature.outputs)[number];

/** Attributes of the decode op: the attention attributes and the number of cache rows in use. */
export type DecodeAttrs = AttentionAttrs & { length: number };

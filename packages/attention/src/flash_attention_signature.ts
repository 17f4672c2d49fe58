/**
 * The signature of the op `FalconFlashAttention` (`flash_attention.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and by its kernels.
 */
import type { AttentionAttrs } from './attention_attrs.js';

/** Kernel name, inputs and outputs of `FalconFlashAttention`, in order. @internal */
export const flashAttentionSignature = {
  name: 'FalconFlashAttention',
  /** q `[batch, seqlen, nHeads, headDim]`, k and v `[batch, seqlenK, nKvHeads, headDim]` */
  inputs: ['q', 'k', 'v'],
  /** alibiSlopes `[nHeads]`, keyPaddingMask `[batch, seqlenK]`, cuSeqlens int32 `[nSeqs + 1]` */
  optionalInputs: ['alibiSlopes', 'keyPaddingMask', 'cuSeqlens'],
  /** out `[batch, seqlen, nHeads, headDim]`, lse `[batch, nHeads, seqlen]` */
  outputs: ['out', 'lse'],
} as const;

/** Required inputs of the op. @internal */
export type FlashAttentionInputName = (typeof flashAttentionSignature.inputs)[number];
/** Optional inputs of the op. @internal */
export type FlashAttentionOptionalName = (typeof flashAttentionSignature.optionalInputs)[number];
/** Outputs of the op. @internal */
export type FlashAttentionOutputName = (typeof flashAttentionSignature.outputs)[number];
/** Attributes of the op: the shared attention attributes. @internal */
export type FlashAttentionAttrs = AttentionAttrs;

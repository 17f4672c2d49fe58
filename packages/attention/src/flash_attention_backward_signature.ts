/**
 * The signature of the op `FalconFlashAttentionBackward` (`flash_attention_backward.ts`): its
 * kernel name, inputs, outputs and attributes, imported by the op and by its kernels.
 */
import type { AttentionAttrs } from './attention_attrs.js';
import { flashAttentionSignature } from './flash_attention_signature.js';
import type { FlashAttentionOptionalName } from './flash_attention_signature.js';

/** Kernel name, inputs and outputs of `FalconFlashAttentionBackward`, in order. @internal */
export const flashAttentionBackwardSignature = {
  name: 'FalconFlashAttentionBackward',
  /** the forward's inputs, its outputs out `[batch, seqlen, nHeads, headDim]` and lse `[batch, nHeads, seqlen]`, and their gradients */
  inputs: [...flashAttentionSignature.inputs, 'out', 'lse', 'dout', 'dlse'],
  /** the forward's */
  optionalInputs: flashAttentionSignature.optionalInputs,
  /** dq (like q), dk and dv (like k) */
  outputs: ['dq', 'dk', 'dv'],
} as const;

/** Required inputs of the op. @internal */
export type FlashAttentionBackwardInputName = (typeof flashAttentionBackwardSignature.inputs)[number];
/** Optional inputs of the op: the forward's. @internal */
export type FlashAttentionBackwardOptionalName = FlashAttentionOptionalName;
/** Outputs of the op. @internal */
export type FlashAttentionBackwardOutputName = (typeof flashAttentionBackwardSignature.outputs)[number];

/** Attributes of the attention backward op. */
export interface AttentionBackwardAttrs extends AttentionAttrs {
  /** Keys that take part (the decode length), or −1 for all rows of k. */
  kvLength: number;
}

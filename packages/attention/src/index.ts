/**
 * `@falcon/attention`: causal grouped-query attention with RoPE and ALiBi, flash-style tiled
 * kernels with a tiled backward, KV-cache decode, and the Falcon-H1 attention block.
 *
 * @packageDocumentation
 */
export { flashAttention, flashAttentionOp } from './flash_attention.js';
export type { FlashAttentionOptions, AttentionResult, AttentionAttrs } from './flash_attention.js';
export { flashAttentionBackwardOp } from './flash_attention_backward.js';
export type { AttentionBackwardAttrs } from './flash_attention_backward.js';
export { decodeAttention, decodeAttentionOp } from './decode_attention.js';
export type { DecodeAttentionOptions, DecodeAttrs } from './decode_attention.js';
export { KVCache } from './kv_cache.js';
export type { KVCacheOptions } from './kv_cache.js';
export { kvCacheWrite, kvCacheWriteOp } from './kv_cache_write.js';
export type { KvCacheWriteAttrs } from './kv_cache_write_signature.js';
export { applyRope, applyRopeOp } from './apply_rope.js';
export type { RopeAttrs } from './apply_rope_signature.js';
export { ropeFrequencies } from './rope_frequencies.js';
export type { RopeParameters, RopeFrequencies, RopeFrequencyOptions, RopeType } from './rope_frequencies.js';
export { alibiSlopes } from './alibi_slopes.js';
export { alibiBias, alibiBiasOp } from './alibi_bias.js';
export type { AlibiAttrs } from './alibi_bias_signature.js';
export { Attention } from './attention.js';
export type { AttentionConfig, AttentionForwardOptions, AttentionStepOptions, AttentionOutput } from './attention.js';
export { VERSION } from './version.js';

/**
 * Internals of `@falcon/attention` for benchmarks and tools (`@falcon/attention/internal`), not
 * part of the public API: the naive reference of `flashAttention` (materialises the
 * `[seqlen, seqlen]` scores), the CPU kernels' scratch-memory counter, and their tile product.
 *
 * @packageDocumentation
 */
export { flashAttentionReference } from './reference/flash_attention.js';
export type { AttentionTensors } from './reference/flash_attention.js';
export { lastWorkspaceBytes } from './kernels/cpu/attention_problem.js';
export { tileProductNT } from './kernels/cpu/tile_product.js';

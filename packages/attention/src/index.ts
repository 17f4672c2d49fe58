/**
 * `@falcon/attention`: Causal grouped-query attention with RoPE and ALiBi, flash-style kernels and KV-cache decode.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';

/**
 * `@falcon/bitnet`: BitNet b1.58 ternary linear layers: quantisers, BitLinear, 2-bit packing and ternary matmul.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';

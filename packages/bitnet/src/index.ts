/**
 * `@falcon/bitnet`: BitNet b1.58 ternary linear layers: quantisers with the straight-through
 * estimator, the quantisation-aware `BitLinear`, 2-bit packing compatible with transformers, the
 * packed inference layer `PackedBitLinear` and the int8 × ternary matmul.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
export { weightQuant, ternarize, WEIGHT_QUANT_OP } from './weight_quant.js';
export type { WeightQuantOptions } from './weight_quant.js';
export { activationQuant, ACTIVATION_QUANT_OP } from './activation_quant.js';
export type { ActivationQuantOptions } from './activation_quant.js';
export { activationQuantInt8, ACTIVATION_QUANT_INT8_OP } from './activation_quant_int8.js';
export { ternaryMatmul, TERNARY_MATMUL_OP, TERNARY_MATMUL_MAX_IN_FEATURES } from './ternary_matmul.js';
export type { TernaryMatmulAttrs } from './ternary_matmul.js';
export {
  VALUES_PER_BYTE,
  packTernary,
  unpackTernary,
  packedRows,
  packedWordCount,
  packedBytesToWords,
  packedWordsToBytes,
  packedWeightTensor,
} from './packing.js';
export { BitLinear } from './bit_linear.js';
export type { BitLinearOptions, FreezeOptions } from './bit_linear.js';
export { PackedBitLinear } from './packed_bit_linear.js';
export type { PackedBitLinearOptions, WeightScaleFormat, ToTensorsOptions, FromTensorsOptions } from './packed_bit_linear.js';
export type { RawTensorData, TensorLike } from './raw_tensor.js';

/**
 * The part of @falcon/checkpoint that needs no Node APIs (no `node:fs`): safetensors parsing of an
 * in-memory buffer and serialisation to one, dtype and tensor conversion, index files, config
 * parsing and checkpoint validation. Every name here is also exported by the package's main entry.
 */
export { SafetensorsError, ConfigError, CheckpointMismatchError } from './errors.js';
export type { SafetensorsErrorLocation } from './errors.js';
export { SAFETENSORS_DTYPES, dtypeByteSize, isSafetensorsDtype, bytesToTypedArray } from './safetensors/dtypes.js';
export type { SafetensorsDtype, SafetensorsTypedArray } from './safetensors/dtypes.js';
export { MAX_HEADER_BYTES, readHeaderLength, parseHeader, encodeHeader } from './safetensors/header.js';
export type { SafetensorsHeader, SafetensorsTensorInfo, HeaderEntry, EncodedHeader, ParseHeaderOptions, ReadHeaderLengthOptions } from './safetensors/header.js';
export { rawToTensor, tensorToRaw, defaultSafetensorsDtype } from './safetensors/convert.js';
export type { RawTensor, RawTensorBytes } from './safetensors/convert.js';
export type { ReadOptions } from './safetensors/rows.js';
export { parseSafetensors, SafetensorsBuffer } from './safetensors/buffer.js';
export { SafetensorsHeaderView } from './safetensors/header_view.js';
export type { ParseSafetensorsOptions } from './safetensors/buffer.js';
export type { WriteEntry, TensorsToWrite, WriteOptions, TensorWithDtype, LazyTensor } from './safetensors/plan.js';
export { serializeSafetensors } from './safetensors/serialize.js';
export { INDEX_SUFFIX, shardFileName, parseIndex, encodeIndex } from './safetensors/index_file.js';
export type { SafetensorsIndex } from './safetensors/index_file.js';
export { parseConfig, configToJson, headDim, SUPPORTED_MODEL_TYPES } from './config/parse.js';
export type { HFConfig, ParseConfigOptions } from './config/parse.js';
export { falconH1Dims, mambaDSsm, FALCON_H1_MAMBA_CHUNK_SIZE } from './config/falcon_h1.js';
export type { FalconH1Config, FalconH1Dims } from './config/falcon_h1.js';
export type { LlamaConfig } from './config/llama.js';
export type { ConfigCommon } from './config/common.js';
export { ROPE_TYPES } from './config/rope.js';
export type { RopeParameters } from './config/rope.js';
export { expectedTensorShapes } from './checkpoint/expected.js';
export type { CheckpointMismatch } from './checkpoint/expected.js';
export { checkCheckpoint, validateCheckpoint } from './checkpoint/validate.js';
export type { TensorShapes, HasTensorShapes, CheckCheckpointOptions, ValidateCheckpointOptions } from './checkpoint/validate.js';

/**
 * @falcon/checkpoint: safetensors read and write (streamed tensor by tensor, sharded with a
 * `model.safetensors.index.json`, every dtype: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL
 * F8_E4M3 F8_E5M2), conversion to and from tfjs tensors, Hugging Face `config.json` parsing for
 * `falcon_h1` and `llama`, and checking a checkpoint's tensors against its config.
 *
 * The Node-free part (in-memory parsing, config, validation) is also in `browser.ts`.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
export * from './browser.js';
export { openSafetensors, loadSafetensors, SafetensorsReader } from './safetensors/reader.js';
export type { ReadManyOptions } from './safetensors/read_many.js';
export { writeSafetensors } from './safetensors/writer.js';
export { openCheckpoint, CheckpointReader } from './safetensors/sharded_reader.js';
export { writeShardedSafetensors } from './safetensors/sharded_writer.js';
export type { ShardedWriteOptions, ShardedWriteResult } from './safetensors/sharded_writer.js';
export { readConfig, writeConfig } from './config/io.js';

/**
 * @falcon/checkpoint: safetensors read/write (streamed, sharded), Hugging Face config.json parsing and checkpoint conversion.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';

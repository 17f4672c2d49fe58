/**
 * Encoding tensors as a whole safetensors file in memory (browsers, tests, small files): the same
 * layout as the streaming file writer. No Node APIs.
 */
import { SafetensorsError } from '../errors.js';
import { encodeHeader } from './header.js';
import { alignedOrder, planTensors } from './plan.js';
import type { TensorsToWrite, WriteOptions } from './plan.js';

/**
 * Encode tensors as a complete safetensors file in memory (for browsers, tests, small files); same
 * layout as {@link writeSafetensors}.
 * @param tensors - name → tensor entries ({@link WriteEntry})
 * @returns the file's bytes
 */
export async function serializeSafetensors(tensors: TensorsToWrite, options: Omit<WriteOptions, 'fsync'> = {}): Promise<Uint8Array> {
  const ordered = alignedOrder(planTensors(tensors, options));
  const header = encodeHeader(ordered, options.metadata);
  const out = new Uint8Array(header.bytes.byteLength + header.dataByteLength);
  out.set(header.bytes, 0);
  let position = header.bytes.byteLength;
  for (const t of ordered) {
    let bytes: Uint8Array;
    try {
      bytes = await t.bytes();
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      throw new SafetensorsError(`producing the data failed: ${(e as Error)?.message ?? String(e)}`, { tensor: t.name }, { cause: e });
    }
    if (bytes.byteLength !== t.byteLength) {
      throw new SafetensorsError(`data is ${bytes.byteLength} bytes but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${t.byteLength}`, { tensor: t.name });
    }
    out.set(bytes, position);
    position += bytes.byteLength;
  }
  return out;
}

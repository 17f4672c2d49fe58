/**
 * Writing a safetensors file (Node): the header first, then each tensor's bytes in turn (converted
 * or loaded one at a time, so only one tensor's bytes are held at once), all into a temporary file
 * in the same directory that is renamed over the real name only when complete. On any failure the
 * temporary file is removed and nothing appears under the real name.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SafetensorsError } from '../errors.js';
import { encodeHeader } from './header.js';
import { alignedOrder, planTensors } from './plan.js';
import type { PlannedTensor, TensorsToWrite, WriteOptions } from './plan.js';

const MAX_WRITE = 1 << 30;

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const len = Math.min(MAX_WRITE, bytes.byteLength - done);
    const { bytesWritten } = await handle.write(bytes, done, len, position + done);
    done += bytesWritten;
  }
}

/** A temporary name next to `path` (same directory, so the final rename is atomic). @internal */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Write planned tensors to a new temporary file next to `path` and return its name; on failure the
 * temporary file is removed and the error (naming `path` and the tensor) is thrown. @internal
 */
export async function writeTemp(path: string, planned: readonly PlannedTensor[], options: WriteOptions): Promise<string> {
  const ordered = alignedOrder(planned);
  const header = encodeHeader(ordered, options.metadata, path);
  const temp = tempPathFor(path);
  let handle: FileHandle | undefined;
  let current: string | undefined;
  try {
    handle = await open(temp, 'wx');
    await writeAll(handle, header.bytes, 0);
    let position = header.bytes.byteLength;
    for (const t of ordered) {
      current = t.name;
      const bytes = await t.bytes();
      if (bytes.byteLength !== t.byteLength) {
        throw new SafetensorsError(`data is ${bytes.byteLength} bytes but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${t.byteLength}`, { file: path, tensor: t.name });
      }
      await writeAll(handle, bytes, position);
      position += bytes.byteLength;
    }
    current = undefined;
    if (options.fsync ?? true) await handle.sync();
    await handle.close();
    handle = undefined;
    return temp;
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(`write failed: ${(e as Error)?.message ?? String(e)}`, { file: path, tensor: current }, { cause: e });
  }
}

/** Rename a finished temporary file over `path`, removing it if the rename fails. @internal */
export async function commitTemp(temp: string, path: string): Promise<void> {
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new SafetensorsError(`could not rename the finished temporary file into place: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

/**
 * Write tensors to a safetensors file, streaming one tensor at a time. The file appears under `path`
 * only when complete (written to a temporary name in the same directory, then renamed); on failure
 * (bad data, a throwing `load`, a full disk) no file is left under either name. Tensors are laid out
 * largest element size first, then by name, so each is aligned to its element size; the header is
 * padded with spaces to a multiple of 8 bytes.
 * @param path - where to write (an existing file is replaced)
 * @param tensors - name → tensor entries ({@link WriteEntry})
 * @throws SafetensorsError naming the file, the tensor and the problem
 */
export async function writeSafetensors(path: string, tensors: TensorsToWrite, options: WriteOptions = {}): Promise<void> {
  const planned = planTensors(tensors, options, path);
  const temp = await writeTemp(path, planned, options);
  await commitTemp(temp, path);
}

/**
 * Reading a safetensors file from disk (Node): the header is read and validated on open, then each
 * tensor is read on demand with a positioned read into its own buffer, so a checkpoint larger than
 * memory never needs one buffer for the whole file.
 */
import { constants } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Tensor } from '@falcon/tensor';
import { SafetensorsError } from '../errors.js';
import { rawToTensor } from './convert.js';
import type { RawTensorBytes } from './convert.js';
import { bytesToTypedArray } from './dtypes.js';
import type { SafetensorsTypedArray } from './dtypes.js';
import { parseHeader, readHeaderLength } from './header.js';
import { SafetensorsHeaderView } from './header_view.js';
import type { SafetensorsHeader } from './header.js';
import { readMany } from './read_many.js';
import type { ReadManyOptions } from './read_many.js';
import { readRange } from './rows.js';
import type { ReadOptions } from './rows.js';

const MAX_READ = 1 << 30; // one positioned read moves at most 1 GiB (Node caps a read below 2 GiB)

/** A fresh, unzeroed byte array that owns its ArrayBuffer (so typed-array views on it start at 0). */
function allocate(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

async function readAt(handle: FileHandle, target: Uint8Array, position: number, file: string, tensor?: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const len = Math.min(MAX_READ, target.byteLength - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, done, len, position + done));
    } catch (e) {
      throw new SafetensorsError(`read failed at byte ${position + done}: ${(e as Error).message}`, { file, tensor }, { cause: e });
    }
    if (bytesRead === 0) {
      throw new SafetensorsError(
        `the file ended at byte ${position + done} while reading bytes [${position}, ${position + target.byteLength}): truncated since it was opened?`,
        { file, tensor },
      );
    }
    done += bytesRead;
  }
}

/** An open safetensors file; returned by {@link openSafetensors}. Call {@link SafetensorsReader.close} when done. */
export class SafetensorsReader extends SafetensorsHeaderView {
  /** Path of the file. */
  readonly path: string;
  /** The parsed, validated header. */
  readonly header: SafetensorsHeader;
  /** Size of the file in bytes when it was opened. */
  readonly fileSize: number;
  private handle: FileHandle | undefined;

  /** @internal Use {@link openSafetensors}. */
  constructor(path: string, handle: FileHandle, header: SafetensorsHeader, fileSize: number) {
    super();
    this.path = path;
    this.handle = handle;
    this.header = header;
    this.fileSize = fileSize;
  }

  /**
   * Open a file and validate its header (length, JSON, dtypes, shapes, offsets tiling the data to the
   * end of the file). Reads only the first 8 + N bytes.
   * @param path - path of a `.safetensors` file
   * @throws SafetensorsError if it cannot be opened or is malformed
   */
  static async open(path: string): Promise<SafetensorsReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw new SafetensorsError(`cannot open: ${(e as Error).message}`, { file: path }, { cause: e });
    }
    try {
      const { size } = await handle.stat();
      const prefix = new Uint8Array(Math.min(8, size));
      await readAt(handle, prefix, 0, path);
      const n = readHeaderLength(prefix, { file: path, fileSize: size });
      const json = new Uint8Array(n);
      await readAt(handle, json, 8, path);
      const header = parseHeader(json, { file: path, dataByteLength: size - 8 - n });
      return new SafetensorsReader(path, handle, header, size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  protected get sourceName(): string | undefined {
    return this.path;
  }

  /**
   * The stored bytes of a tensor, unconverted (exact bf16 bits, packed uint8 weights, ...), read
   * from the file into a new buffer.
   * @param name - tensor name
   * @param options - `rows`: read only rows `[start, end)` of dim 0
   */
  async readRaw(name: string, options: ReadOptions = {}): Promise<RawTensorBytes> {
    const info = this.info(name);
    if (!this.handle) throw new SafetensorsError('the reader is closed', { file: this.path, tensor: name });
    const r = readRange(info, options, this.path);
    if (r.end - r.begin > constants.MAX_LENGTH) {
      throw new SafetensorsError(
        `${r.end - r.begin} bytes do not fit in one buffer here (at most ${constants.MAX_LENGTH}): read the tensor in parts with { rows: [start, end] }`,
        { file: this.path, tensor: name },
      );
    }
    const data = allocate(r.end - r.begin);
    await readAt(this.handle, data, this.header.dataStart + r.begin, this.path, name);
    return { dtype: info.dtype, shape: r.shape, data };
  }

  /**
   * A tensor's elements as the typed array of its dtype (see {@link SafetensorsTypedArray}: bf16/f16
   * as `Uint16Array` bit patterns, fp8 as bytes, I64 as `BigInt64Array`).
   * @param name - tensor name
   * @param options - `rows`: read only rows `[start, end)` of dim 0
   */
  async readTypedArray(name: string, options: ReadOptions = {}): Promise<SafetensorsTypedArray> {
    const raw = await this.readRaw(name, options);
    return bytesToTypedArray(raw.dtype, raw.data, { file: this.path, tensor: name });
  }

  /**
   * A tensor as a tfjs tensor: float dtypes → float32, integer dtypes → int32 (I64/U64/U32 throw if a
   * value is outside the int32 range), BOOL → bool. F32 and I32 data is not copied after the read.
   * @param name - tensor name
   * @param options - `rows`: read only rows `[start, end)` of dim 0
   * @returns a tensor of the stored shape (or `[end − start, ...]` with `rows`)
   */
  async readTensor(name: string, options: ReadOptions = {}): Promise<Tensor> {
    const raw = await this.readRaw(name, options);
    return rawToTensor(raw, { file: this.path, tensor: name });
  }

  /**
   * Several tensors (default: all) as tfjs tensors, a few reads in flight at once; the Map keeps the
   * order of `names`. If one read fails, the tensors already read are disposed.
   * @param names - which tensors; default all, in file order
   * @param options - `concurrency`: reads in flight (default 4)
   */
  readTensors(names: readonly string[] = this.names, options: ReadManyOptions = {}): Promise<Map<string, Tensor>> {
    return readMany(names, (n) => this.readTensor(n), options);
  }

  /** Close the file. Reads after this throw; closing twice is harmless. */
  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}

/**
 * Open a safetensors file and validate its header; tensors are read on demand.
 * @param path - path of a `.safetensors` file
 */
export function openSafetensors(path: string): Promise<SafetensorsReader> {
  return SafetensorsReader.open(path);
}

/**
 * Read every tensor of a safetensors file (or those named) as tfjs tensors, then close it.
 * @param path - path of a `.safetensors` file
 * @param names - which tensors; default all
 * @param options - `concurrency`: reads in flight (default 4)
 */
export async function loadSafetensors(path: string, names?: readonly string[], options: ReadManyOptions = {}): Promise<Map<string, Tensor>> {
  const r = await openSafetensors(path);
  try {
    return await r.readTensors(names, options);
  } finally {
    await r.close();
  }
}

/** Whether a path exists and is a regular file. @internal */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

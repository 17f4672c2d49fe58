/**
 * Safetensors in memory: `parseSafetensors(buffer)` validates a whole file held in an ArrayBuffer
 * (fetched in a browser, or read by other means) and reads its tensors. No Node APIs.
 */
import type { Tensor } from '@falcon/tensor';
import { rawToTensor } from './convert.js';
import type { RawTensorBytes } from './convert.js';
import { bytesToTypedArray } from './dtypes.js';
import type { SafetensorsTypedArray } from './dtypes.js';
import { parseHeader, readHeaderLength } from './header.js';
import { SafetensorsHeaderView } from './header_view.js';
import type { SafetensorsHeader } from './header.js';
import { readRange } from './rows.js';
import type { ReadOptions } from './rows.js';

/** Options of {@link parseSafetensors}. */
export interface ParseSafetensorsOptions {
  /** A name for the buffer (e.g. its URL), used in error messages. */
  name?: string;
}

/** A validated safetensors file held in memory; returned by {@link parseSafetensors}. */
export class SafetensorsBuffer extends SafetensorsHeaderView {
  /** The name given to the buffer, for messages. */
  readonly name: string | undefined;
  /** The parsed, validated header. */
  readonly header: SafetensorsHeader;
  private readonly bytes: Uint8Array;

  /** @internal Use {@link parseSafetensors}. */
  constructor(bytes: Uint8Array, header: SafetensorsHeader, name: string | undefined) {
    super();
    this.bytes = bytes;
    this.header = header;
    this.name = name;
  }

  protected get sourceName(): string | undefined {
    return this.name;
  }

  /**
   * The stored bytes of a tensor, unconverted: dtype, shape and a `Uint8Array` view on the buffer (no copy).
   * @param name - tensor name
   * @param options - `rows`: only rows `[start, end)` of dim 0
   */
  readRaw(name: string, options: ReadOptions = {}): RawTensorBytes {
    const info = this.info(name);
    const r = readRange(info, options, this.name);
    const start = this.header.dataStart + r.begin;
    return { dtype: info.dtype, shape: r.shape, data: this.bytes.subarray(start, this.header.dataStart + r.end) };
  }

  /**
   * A tensor's elements as the typed array of its dtype (see {@link SafetensorsTypedArray}; bf16/f16
   * as bit patterns, fp8 as bytes). A view on the buffer when aligned, else a copy.
   * @param name - tensor name
   * @param options - `rows`: only rows `[start, end)` of dim 0
   */
  readTypedArray(name: string, options: ReadOptions = {}): SafetensorsTypedArray {
    const raw = this.readRaw(name, options);
    return bytesToTypedArray(raw.dtype, raw.data, { file: this.name, tensor: name });
  }

  /**
   * A tensor as a tfjs tensor (float32, int32 or bool; see {@link rawToTensor}). Its data is a copy,
   * independent of the buffer.
   * @param name - tensor name
   * @param options - `rows`: only rows `[start, end)` of dim 0
   * @returns a tensor of the stored shape (or `[end − start, ...]` with `rows`)
   */
  readTensor(name: string, options: ReadOptions = {}): Tensor {
    const raw = this.readRaw(name, options);
    return rawToTensor({ ...raw, data: raw.data.slice() }, { file: this.name, tensor: name });
  }

  /** Several tensors (default: all) as tfjs tensors, by name. @param names - which tensors; default all, in data order */
  readTensors(names: readonly string[] = this.names): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    try {
      for (const n of names) out.set(n, this.readTensor(n));
    } catch (e) {
      for (const t of out.values()) t.dispose();
      throw e;
    }
    return out;
  }
}

/**
 * Parse and validate a whole safetensors file held in memory (header length, header, offsets that
 * tile the data exactly to the end of the buffer).
 * @param buffer - the file's bytes
 * @throws SafetensorsError naming the buffer, the tensor and the problem
 */
export function parseSafetensors(buffer: ArrayBuffer | Uint8Array, options: ParseSafetensorsOptions = {}): SafetensorsBuffer {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const file = options.name;
  const n = readHeaderLength(bytes, { file, fileSize: bytes.byteLength });
  const header = parseHeader(bytes.subarray(8, 8 + n), { file, dataByteLength: bytes.byteLength - 8 - n });
  return new SafetensorsBuffer(bytes, header, file);
}

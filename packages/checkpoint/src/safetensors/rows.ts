/**
 * Partial reads: the byte range and shape of rows `[start, end)` along dim 0 of a stored tensor,
 * which are contiguous in a row-major file (what a tensor-parallel rank loads of a weight).
 */
import { SafetensorsError } from '../errors.js';
import type { SafetensorsTensorInfo } from './header.js';

/** Options of the read methods (`readRaw`, `readTypedArray`, `readTensor`). */
export interface ReadOptions {
  /** Read only rows `[start, end)` along dim 0 (the result has shape `[end − start, ...shape[1:]]`). */
  rows?: readonly [number, number];
}

/** Where a read lands: bytes `[begin, end)` of the data section, and the shape of what is read. */
export interface ReadRange {
  /** First byte, relative to the data section. */
  readonly begin: number;
  /** One past the last byte, relative to the data section. */
  readonly end: number;
  /** Shape of the result. */
  readonly shape: readonly number[];
}

/**
 * The data-section byte range and shape for reading `info` (all of it, or `options.rows`).
 * @param info - the tensor's header entry
 * @param file - file name, for error messages
 */
export function readRange(info: SafetensorsTensorInfo, options: ReadOptions = {}, file?: string): ReadRange {
  const [begin, end] = info.dataOffsets;
  if (options.rows === undefined) return { begin, end, shape: info.shape };
  const [r0, r1] = options.rows;
  const where = { file, tensor: info.name };
  if (info.shape.length === 0) throw new SafetensorsError('cannot read rows of a scalar', where);
  const n = info.shape[0];
  if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 < r0 || r1 > n) {
    throw new SafetensorsError(`rows [${r0}, ${r1}) are not a range inside dim 0 of shape [${info.shape.join(', ')}]`, where);
  }
  const rowBytes = n === 0 ? 0 : info.byteLength / n;
  return { begin: begin + r0 * rowBytes, end: begin + r1 * rowBytes, shape: [r1 - r0, ...info.shape.slice(1)] };
}

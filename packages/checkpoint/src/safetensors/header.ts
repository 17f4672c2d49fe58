/**
 * The safetensors header: reading the 8-byte little-endian u64 length, parsing and validating the
 * JSON header (dtypes, shapes, `data_offsets` that tile the data section exactly, `__metadata__`),
 * and encoding a header padded with spaces to a multiple of 8 bytes. No Node APIs, so the same
 * code serves files and browser ArrayBuffers.
 *
 * Layout: `[u64 LE N][N bytes of UTF-8 JSON, starting with '{', padded with spaces][data]`, where
 * each tensor's `data_offsets: [begin, end]` are relative to the start of the data.
 */
import { SafetensorsError } from '../errors.js';
import { SAFETENSORS_DTYPES, dtypeByteSize, isSafetensorsDtype, shapeSize } from './dtypes.js';
import type { SafetensorsDtype } from './dtypes.js';
import { findStrictJsonProblem } from './strict_json.js';

/** Largest header accepted, in bytes (the Rust implementation's limit, 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor as the header describes it. */
export interface SafetensorsTensorInfo {
  /** Tensor name, e.g. `model.layers.0.mamba.A_log`. */
  readonly name: string;
  /** Element type. */
  readonly dtype: SafetensorsDtype;
  /** Shape, row-major (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** `[begin, end)` in bytes, relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
  /** `end − begin` = number of elements × element size. */
  readonly byteLength: number;
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  /** Every tensor, in the order of their data (by `data_offsets`). */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** The same tensors by name. */
  readonly byName: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** The `__metadata__` string map, if the header has one. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** N, the JSON header's length in bytes (including padding). */
  readonly headerByteLength: number;
  /** Where the data section starts in the file: 8 + N. */
  readonly dataStart: number;
  /** Length of the data section: the end of the last tensor. */
  readonly dataByteLength: number;
}

/** Options of {@link readHeaderLength}. */
export interface ReadHeaderLengthOptions {
  /** File (or buffer) name for error messages. */
  file?: string;
  /** Total size of the file or buffer in bytes, to check that the header fits. */
  fileSize?: number;
}

/**
 * Decode the 8-byte little-endian header length N and check it against {@link MAX_HEADER_BYTES}
 * and the file size.
 * @param prefix - the first 8 (or more) bytes of the file
 * @returns N
 */
export function readHeaderLength(prefix: Uint8Array, options: ReadHeaderLengthOptions = {}): number {
  const { file, fileSize } = options;
  if (prefix.byteLength < 8) {
    throw new SafetensorsError(`is only ${prefix.byteLength} bytes long: too short for the 8-byte header length (truncated?)`, { file });
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`, { file });
  }
  const len = Number(n);
  if (fileSize !== undefined && 8 + len > fileSize) {
    throw new SafetensorsError(`header length ${len} bytes runs past the end of the file (${fileSize} bytes): truncated or corrupt`, { file });
  }
  return len;
}

/** Options of {@link parseHeader}. */
export interface ParseHeaderOptions {
  /** File (or buffer) name for error messages. */
  file?: string;
  /**
   * Length of the data section (file size − 8 − N). When given, tensors must end inside it and
   * cover it exactly; when absent only the tiling from offset 0 is checked.
   */
  dataByteLength?: number;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseEntry(name: string, raw: unknown, file: string | undefined): SafetensorsTensorInfo {
  const where = { file, tensor: name };
  if (!isPlainObject(raw)) throw new SafetensorsError(`header entry is ${describe(raw)}, expected {dtype, shape, data_offsets}`, where);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (dtype === undefined) throw new SafetensorsError('header entry has no dtype', where);
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError(`unknown dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, where);
  }
  if (!Array.isArray(shape)) throw new SafetensorsError(`shape is ${describe(shape)}, expected an array of non-negative integers`, where);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(`shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer (${JSON.stringify(d)})`, where);
    }
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(`data_offsets ${JSON.stringify(offsets)} must be two non-negative integers [begin, end]`, where);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(`data_offsets [${begin}, ${end}] end before they begin`, where);
  const numel = shapeSize(shape as number[], where);
  const need = numel * dtypeByteSize(dtype);
  if (end - begin !== need) {
    throw new SafetensorsError(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${need} (${numel} elements × ${dtypeByteSize(dtype)} bytes)`,
      where,
    );
  }
  return { name, dtype, shape: Object.freeze([...(shape as number[])]), dataOffsets: [begin, end], byteLength: need };
}

/**
 * Parse and validate the JSON header. Checks: valid UTF-8 and JSON, a top-level object beginning with
 * `{`, no key twice in one object and no number with a fraction or exponent (`99456.0`), both refused
 * as the Rust implementation refuses them, `__metadata__` a string→string map, every entry a known dtype with a shape of non-negative
 * integers and `data_offsets` whose length equals numel × element size, and offsets that tile the
 * data section from 0 with no gap or overlap (and end exactly at `dataByteLength` when given).
 * @param json - the N header bytes (after the 8-byte length)
 * @throws SafetensorsError naming the file, the tensor and the problem
 */
export function parseHeader(json: Uint8Array, options: ParseHeaderOptions = {}): SafetensorsHeader {
  const { file, dataByteLength } = options;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch (e) {
    throw new SafetensorsError('header is not valid UTF-8', { file }, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON (${(e as Error).message})`, { file }, { cause: e });
  }
  if (!isPlainObject(parsed)) throw new SafetensorsError(`header is ${describe(parsed)}, expected a JSON object`, { file });
  if (json[0] !== 0x7b) throw new SafetensorsError("header must begin with '{'", { file });

  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsTensorInfo[] = [];
  for (const key of Object.keys(parsed)) {
    const value = parsed[key];
    if (key === '__metadata__') {
      if (!isPlainObject(value)) throw new SafetensorsError(`__metadata__ is ${describe(value)}, expected an object of strings`, { file });
      metadata = Object.create(null) as Record<string, string>;
      for (const k of Object.keys(value)) {
        const v = value[k];
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value of ${JSON.stringify(k)} is ${describe(v)}, expected a string`, { file });
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(key, value, file));
  }

  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let expected = 0;
  let prev: SafetensorsTensorInfo | undefined;
  for (const t of entries) {
    const [begin, end] = t.dataOffsets;
    const where = { file, tensor: t.name };
    if (dataByteLength !== undefined && end > dataByteLength) {
      throw new SafetensorsError(
        `data_offsets [${begin}, ${end}] run past the end of the data section (${dataByteLength} bytes): the file is truncated or the offsets are wrong`,
        where,
      );
    }
    if (begin < expected) {
      throw new SafetensorsError(`data_offsets [${begin}, ${end}] overlap tensor '${prev!.name}' at [${prev!.dataOffsets.join(', ')}]`, where);
    }
    if (begin > expected) {
      const after = prev ? `after tensor '${prev.name}' (which ends at ${expected})` : 'at the start of the data section';
      throw new SafetensorsError(`data_offsets [${begin}, ${end}] leave a gap of ${begin - expected} bytes ${after}`, where);
    }
    expected = end;
    prev = t;
  }
  if (dataByteLength !== undefined && expected !== dataByteLength) {
    throw new SafetensorsError(
      `the data section is ${dataByteLength} bytes but the tensors cover only ${expected}: ${dataByteLength - expected} unexplained bytes at the end`,
      { file },
    );
  }
  // what JSON.parse let through: a key twice, an integer written as a float (checked last, so the
  // messages above keep describing what the values are)
  const strict = findStrictJsonProblem(text);
  if (strict) throw new SafetensorsError(`header is not strict JSON: ${strict.message}`, { file, tensor: strict.tensor });
  const byName = new Map<string, SafetensorsTensorInfo>();
  for (const t of entries) byName.set(t.name, t);
  return {
    tensors: entries,
    byName,
    metadata,
    headerByteLength: json.byteLength,
    dataStart: 8 + json.byteLength,
    dataByteLength: expected,
  };
}

/** A tensor to place in a header: name, dtype and shape (its offsets are assigned in order). */
export interface HeaderEntry {
  /** Tensor name (any string except `__metadata__`). */
  name: string;
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Shape (non-negative integers). */
  shape: readonly number[];
}

/** An encoded header: the bytes to write first, and where each tensor's data goes. */
export interface EncodedHeader {
  /** 8-byte little-endian length N, then N bytes of JSON padded with spaces so that N is a multiple of 8. */
  readonly bytes: Uint8Array;
  /** The tensors with their assigned offsets, in data order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** Total length of the data section. */
  readonly dataByteLength: number;
}

/**
 * Encode a header for tensors laid out contiguously in the given order, with `__metadata__` first
 * when given. The JSON is padded with spaces to a multiple of 8 bytes, as the Rust implementation does,
 * so the data section starts 8-aligned.
 * @param entries - tensors in the order their data will be written
 * @param metadata - optional string→string map stored as `__metadata__`
 * @param file - file name for error messages
 */
export function encodeHeader(entries: readonly HeaderEntry[], metadata?: Readonly<Record<string, string>>, file?: string): EncodedHeader {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const m: string[] = [];
    for (const k of Object.keys(metadata)) {
      const v = metadata[k];
      if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value of ${JSON.stringify(k)} is ${describe(v)}, expected a string`, { file });
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  const seen = new Set<string>();
  const tensors: SafetensorsTensorInfo[] = [];
  let offset = 0;
  for (const e of entries) {
    const where = { file, tensor: e.name };
    if (typeof e.name !== 'string') throw new SafetensorsError(`tensor name ${describe(e.name)} is not a string`, { file });
    if (e.name === '__metadata__') throw new SafetensorsError("'__metadata__' is reserved and cannot name a tensor", where);
    if (seen.has(e.name)) throw new SafetensorsError('the same name appears twice', where);
    seen.add(e.name);
    if (!isSafetensorsDtype(e.dtype)) throw new SafetensorsError(`unknown dtype ${JSON.stringify(e.dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, where);
    const byteLength = shapeSize(e.shape, where) * dtypeByteSize(e.dtype);
    const info: SafetensorsTensorInfo = { name: e.name, dtype: e.dtype, shape: Object.freeze([...e.shape]), dataOffsets: [offset, offset + byteLength], byteLength };
    tensors.push(info);
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${offset},${offset + byteLength}]}`);
    offset += byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.byteLength / 8) * 8;
  if (n > MAX_HEADER_BYTES) throw new SafetensorsError(`header would be ${n} bytes, over the ${MAX_HEADER_BYTES}-byte limit`, { file });
  const bytes = new Uint8Array(8 + n);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.byteLength);
  return { bytes, tensors, dataByteLength: offset };
}

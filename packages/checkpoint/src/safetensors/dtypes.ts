/**
 * The safetensors dtypes: their names, element sizes, and typed-array views of raw little-endian
 * bytes. No Node APIs: this file works on browser ArrayBuffers too.
 */
import { SafetensorsError } from '../errors.js';
import type { SafetensorsErrorLocation } from '../errors.js';

/** Every dtype this package reads and writes, as safetensors names them in the header. */
export const SAFETENSORS_DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
] as const;

/**
 * A safetensors dtype name. Floats: `F64`, `F32`, `F16` (IEEE half), `BF16` (bfloat16),
 * `F8_E4M3` (e4m3fn), `F8_E5M2`; integers `I64` … `I8`, `U64` … `U8`; `BOOL` (one byte, 0 or 1).
 */
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const SIZES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** Whether `x` is one of {@link SAFETENSORS_DTYPES}. @param x - any value, e.g. a header's `dtype` field */
export function isSafetensorsDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(SIZES, x);
}

/** Bytes per element of a dtype (8, 4, 2 or 1). @param dtype - a safetensors dtype */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return SIZES[dtype];
}

/**
 * The typed array that holds a dtype's elements exactly: `Float64Array` (F64), `Float32Array` (F32),
 * `Uint16Array` of bit patterns (F16, BF16), `BigInt64Array` (I64), `BigUint64Array` (U64),
 * `Int32Array`, `Uint32Array`, `Int16Array`, `Uint16Array` (U16), `Int8Array`, and `Uint8Array`
 * (U8, BOOL, and the fp8 bytes of F8_E4M3 / F8_E5M2).
 */
export type SafetensorsTypedArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Ctor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsTypedArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<SafetensorsDtype, Ctor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
};

/**
 * The elements of raw little-endian tensor bytes as the dtype's typed array
 * ({@link SafetensorsTypedArray}). A view on the same memory when `bytes` is aligned to the element
 * size, otherwise a copy.
 * @param dtype - the dtype of the bytes
 * @param bytes - `numel · dtypeByteSize(dtype)` bytes
 * @param where - file and tensor, for the error message
 */
export function bytesToTypedArray(dtype: SafetensorsDtype, bytes: Uint8Array, where: SafetensorsErrorLocation = {}): SafetensorsTypedArray {
  const C = CTORS[dtype];
  const size = C.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new SafetensorsError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`, where);
  }
  if (size > 1 && !LITTLE_ENDIAN) throw new SafetensorsError('big-endian platforms are not supported', where);
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new C(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new C(copy.buffer, 0, n);
}

/**
 * The bytes of a typed array (a view on the same memory, no copy).
 * @param data - any typed array
 */
export function typedArrayBytes(data: ArrayBufferView): Uint8Array {
  if (!LITTLE_ENDIAN && !(data instanceof Uint8Array || data instanceof Int8Array)) {
    throw new SafetensorsError('big-endian platforms are not supported');
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Number of elements of a shape (1 for `[]`), throwing if a dimension is not a non-negative integer
 * or the product is not a safe integer.
 * @param shape - tensor shape
 * @param where - file and tensor, for the error message
 */
export function shapeSize(shape: readonly number[], where: SafetensorsErrorLocation = {}): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`shape [${shape.join(', ')}] has a dimension that is not a non-negative integer (${d})`, where);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new SafetensorsError(`shape [${shape.join(', ')}] has more elements than fit in a safe integer`, where);
  return n;
}

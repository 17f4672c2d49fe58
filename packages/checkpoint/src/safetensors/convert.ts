/**
 * Conversion between raw safetensors data and tfjs tensors. tfjs holds only float32, int32 and
 * bool: reading maps F64/F32/F16/BF16/F8_* → float32, integer types → int32 (I64, U64 and U32 with a
 * range check), BOOL → bool; writing maps a float32 tensor to any float dtype (F32 by default), an
 * int32 tensor to any integer or float dtype (I32 by default, range-checked), a bool tensor to BOOL
 * (default) or an integer/float dtype. No Node APIs.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToFp8, fp8ToF32, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { SafetensorsError } from '../errors.js';
import type { SafetensorsErrorLocation } from '../errors.js';
import { bytesToTypedArray, dtypeByteSize, shapeSize, typedArrayBytes } from './dtypes.js';
import type { SafetensorsDtype, SafetensorsTypedArray } from './dtypes.js';

/**
 * A tensor in safetensors form: dtype, shape, and its data as little-endian bytes (`Uint8Array`) or
 * as a typed array whose bytes are exactly those (e.g. `Float32Array` for F32, `Uint16Array` of bit
 * patterns for BF16/F16, `BigInt64Array` for I64, `Uint8Array` of packed bytes for U8).
 */
export interface RawTensor {
  /** Element type of the data. */
  dtype: SafetensorsDtype;
  /** Shape, row-major. */
  shape: readonly number[];
  /** `numel · dtypeByteSize(dtype)` bytes, as bytes or a typed array of them. */
  data: Uint8Array | SafetensorsTypedArray;
}

/** A {@link RawTensor} whose data is plain bytes, as the readers return it. */
export interface RawTensorBytes extends RawTensor {
  /** The tensor's bytes, little-endian. */
  data: Uint8Array;
}

/** The bytes of a raw tensor, checked against its dtype and shape. @param raw - a raw tensor @param where - for error messages */
export function rawBytes(raw: RawTensor, where: SafetensorsErrorLocation = {}): Uint8Array {
  const bytes = raw.data instanceof Uint8Array ? raw.data : typedArrayBytes(raw.data);
  const need = shapeSize(raw.shape, where) * dtypeByteSize(raw.dtype);
  if (bytes.byteLength !== need) {
    throw new SafetensorsError(
      `data is ${bytes.byteLength} bytes but shape [${raw.shape.join(', ')}] of ${raw.dtype} needs ${need}`,
      where,
    );
  }
  return bytes;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function outOfInt32(dtype: string, value: bigint | number, index: number, where: SafetensorsErrorLocation): SafetensorsError {
  return new SafetensorsError(
    `${dtype} value ${value} at flat index ${index} is outside the int32 range tfjs tensors hold; read it with readTypedArray() or readRaw() instead`,
    where,
  );
}

/**
 * Make a tfjs tensor of a raw tensor: float dtypes become float32 (F64 rounds), integer dtypes int32
 * (I64, U64, U32 throw if a value is outside the int32 range), BOOL becomes bool. F32, I32 and BOOL
 * data that is 0/1 are used without a copy when aligned: the tensor then shares their memory.
 * @param raw - dtype, shape and bytes
 * @param where - file and tensor, for error messages
 * @returns a tensor of shape `raw.shape`
 */
export function rawToTensor(raw: RawTensor, where: SafetensorsErrorLocation = {}): Tensor {
  const bytes = rawBytes(raw, where);
  const a = bytesToTypedArray(raw.dtype, bytes, where);
  const shape = [...raw.shape];
  switch (raw.dtype) {
    case 'F32':
      return tf.tensor(a as Float32Array, shape, 'float32');
    case 'F64':
      return tf.tensor(Float32Array.from(a as Float64Array), shape, 'float32');
    case 'F16':
      return tf.tensor(f16ToF32(a as Uint16Array), shape, 'float32');
    case 'BF16':
      return tf.tensor(bf16ToF32(a as Uint16Array), shape, 'float32');
    case 'F8_E4M3':
    case 'F8_E5M2':
      return tf.tensor(fp8ToF32(a as Uint8Array, raw.dtype), shape, 'float32');
    case 'I32':
      return tf.tensor(a as Int32Array, shape, 'int32');
    case 'I16':
    case 'I8':
    case 'U16':
    case 'U8':
      return tf.tensor(Int32Array.from(a as Int16Array), shape, 'int32');
    case 'U32': {
      const u = a as Uint32Array;
      for (let i = 0; i < u.length; i++) if (u[i] > INT32_MAX) throw outOfInt32('U32', u[i], i, where);
      return tf.tensor(new Int32Array(u.buffer, u.byteOffset, u.length).slice(), shape, 'int32');
    }
    case 'I64':
    case 'U64': {
      const b = a as BigInt64Array | BigUint64Array;
      const out = new Int32Array(b.length);
      const lo = BigInt(INT32_MIN);
      const hi = BigInt(INT32_MAX);
      for (let i = 0; i < b.length; i++) {
        const v = b[i];
        if (v < lo || v > hi) throw outOfInt32(raw.dtype, v, i, where);
        out[i] = Number(v);
      }
      return tf.tensor(out, shape, 'int32');
    }
    case 'BOOL': {
      let u = a as Uint8Array;
      if (u.some((v) => v > 1)) u = u.map((v) => (v ? 1 : 0));
      return tf.tensor(u, shape, 'bool');
    }
  }
}

const FLOATS = new Set<SafetensorsDtype>(['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2']);
const INT_RANGES: Partial<Record<SafetensorsDtype, [number, number]>> = {
  I32: [INT32_MIN, INT32_MAX],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U32: [0, 4294967295],
  U16: [0, 65535],
  U8: [0, 255],
  U64: [0, Number.MAX_SAFE_INTEGER],
  I64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The safetensors dtype a tfjs dtype is saved as by default: float32 → F32, int32 → I32, bool → BOOL. @param dtype - a tfjs dtype */
export function defaultSafetensorsDtype(dtype: string): SafetensorsDtype {
  if (dtype === 'float32') return 'F32';
  if (dtype === 'int32') return 'I32';
  if (dtype === 'bool') return 'BOOL';
  throw new SafetensorsError(`tfjs dtype '${dtype}' cannot be saved (only float32, int32 and bool)`);
}

function floatBytes(x: Float32Array, target: SafetensorsDtype): Uint8Array {
  switch (target) {
    case 'F32':
      return typedArrayBytes(x);
    case 'F64':
      return typedArrayBytes(Float64Array.from(x));
    case 'F16':
      return typedArrayBytes(f32ToF16(x));
    case 'BF16':
      return typedArrayBytes(f32ToBf16(x));
    default:
      return f32ToFp8(x, target as 'F8_E4M3' | 'F8_E5M2');
  }
}

/**
 * Encode tfjs tensor values as the bytes of a safetensors dtype.
 * @param values - the tensor's data (`Float32Array` for float32, `Int32Array` for int32, `Uint8Array` for bool)
 * @param source - the tensor's tfjs dtype
 * @param target - the dtype to store; floats only from float32, integers from int32/bool (range-checked)
 * @param where - file and tensor, for error messages
 */
export function valuesToBytes(
  values: Float32Array | Int32Array | Uint8Array,
  source: 'float32' | 'int32' | 'bool',
  target: SafetensorsDtype,
  where: SafetensorsErrorLocation = {},
): Uint8Array {
  if (source === 'float32') {
    if (!FLOATS.has(target)) throw new SafetensorsError(`cannot save a float32 tensor as ${target}: cast it to int32 first`, where);
    return floatBytes(values as Float32Array, target);
  }
  if (target === 'BOOL') {
    if (source !== 'bool') throw new SafetensorsError(`cannot save an ${source} tensor as BOOL: cast it to bool first`, where);
    return values as Uint8Array;
  }
  if (source === 'bool' && target === 'U8') return values as Uint8Array;
  if (FLOATS.has(target)) return floatBytes(Float32Array.from(values), target);
  const [lo, hi] = INT_RANGES[target]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo || v > hi) throw new SafetensorsError(`value ${v} at flat index ${i} does not fit in ${target}`, where);
  }
  switch (target) {
    case 'I32':
      return typedArrayBytes(source === 'int32' ? values : Int32Array.from(values));
    case 'I16':
      return typedArrayBytes(Int16Array.from(values));
    case 'I8':
      return typedArrayBytes(Int8Array.from(values));
    case 'U32':
      return typedArrayBytes(Uint32Array.from(values));
    case 'U16':
      return typedArrayBytes(Uint16Array.from(values));
    case 'U8':
      return Uint8Array.from(values);
    case 'I64': {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]);
      return typedArrayBytes(out);
    }
    default: {
      const out = new BigUint64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]);
      return typedArrayBytes(out);
    }
  }
}

/**
 * The bytes of a tfjs tensor stored as `target` (default: {@link defaultSafetensorsDtype}).
 * @param tensor - a float32, int32 or bool tensor (read with `await tensor.data()`; not disposed)
 * @param target - the dtype to store
 * @param where - file and tensor, for error messages
 */
export async function tensorToRaw(tensor: Tensor, target?: SafetensorsDtype, where: SafetensorsErrorLocation = {}): Promise<RawTensorBytes> {
  const dtype = target ?? defaultSafetensorsDtype(tensor.dtype);
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
    throw new SafetensorsError(`tfjs dtype '${tensor.dtype}' cannot be saved (only float32, int32 and bool)`, where);
  }
  if (tensor.isDisposed) throw new SafetensorsError('the tensor was disposed before it was written', where);
  const values = (await tensor.data()) as Float32Array | Int32Array | Uint8Array;
  return { dtype, shape: tensor.shape, data: valuesToBytes(values, tensor.dtype, dtype, where) };
}

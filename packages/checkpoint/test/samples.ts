// Test data: one raw tensor per safetensors dtype with its extreme and special values (the same
// values data/make_python_dtypes.py writes with the Python safetensors package).
import type { RawTensor, SafetensorsDtype } from '../src/index.js';

/** The bytes 0..255. */
export const all256 = Uint8Array.from({ length: 256 }, (_, i) => i);

/** One tensor per dtype, with the extreme and special values of each. */
export const SAMPLES: Record<SafetensorsDtype, RawTensor> = {
  F64: { dtype: 'F64', shape: [2, 4], data: new Float64Array([0, -0, 1.5, -1e300, Infinity, -Infinity, NaN, 5e-324]) },
  F32: { dtype: 'F32', shape: [8], data: new Float32Array([0, -0, 3.4028234663852886e38, 1e-45, Infinity, -Infinity, NaN, 1 / 3]) },
  F16: { dtype: 'F16', shape: [8], data: new Uint16Array([0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e01]) },
  BF16: { dtype: 'BF16', shape: [2, 2, 2], data: new Uint16Array([0x3f80, 0xff80, 0x7f80, 0x7fc1, 0x0001, 0x8000, 0x7f7f, 0x1234]) },
  I64: { dtype: 'I64', shape: [4], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]) },
  I32: { dtype: 'I32', shape: [3], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0]) },
  I16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 32767, -1]) },
  I8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 127, -1]) },
  U64: { dtype: 'U64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  U32: { dtype: 'U32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
  U16: { dtype: 'U16', shape: [2], data: new Uint16Array([0, 65535]) },
  U8: { dtype: 'U8', shape: [16, 16], data: all256 },
  BOOL: { dtype: 'BOOL', shape: [5], data: new Uint8Array([0, 1, 1, 0, 1]) },
  F8_E4M3: { dtype: 'F8_E4M3', shape: [256], data: all256 },
  F8_E5M2: { dtype: 'F8_E5M2', shape: [4, 64], data: all256 },
};

/** The bytes of a typed array (a view). */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

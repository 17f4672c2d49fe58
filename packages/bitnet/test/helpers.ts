// Test helpers of @falcon/bitnet: seeded ternary weights and int8 activations, and a minimal
// safetensors reader (header JSON + little-endian arrays) for the transformers fixture.
import { readFileSync } from 'node:fs';
import { Rng, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** Seeded ternary values (row-major), with P(0) = pZero. */
export function randomTernary(n: number, seed: number, pZero = 1 / 3): Int8Array {
  const rng = new Rng(seed);
  const v = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    v[i] = u < pZero ? 0 : u < pZero + (1 - pZero) / 2 ? 1 : -1;
  }
  return v;
}

/** Seeded int8 values in [-128, 127] as an int32 tensor. */
export function randomInt8(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.int(256) - 128;
  return tf.tensor(v, shape, 'int32');
}

/** One tensor of a safetensors file. */
export interface StTensor {
  dtype: string;
  shape: number[];
  /** F32 → Float32Array, U8 → Uint8Array, I8/I32 → Int32Array, I64 → Float64Array of values, BF16 → Float32Array */
  data: Float32Array | Uint8Array | Float64Array | Int32Array;
}

/** Read a whole safetensors file: header JSON, then each tensor's little-endian bytes. */
export function readSafetensors(path: string): Record<string, StTensor> {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const out: Record<string, StTensor> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = info.data_offsets;
    const raw = bytes.slice(base + a, base + b); // copy: aligned, owned buffer
    let data: StTensor['data'];
    switch (info.dtype) {
      case 'F32':
        data = new Float32Array(raw.buffer);
        break;
      case 'U8':
        data = raw;
        break;
      case 'I32':
        data = new Int32Array(raw.buffer);
        break;
      case 'I8':
        data = Int32Array.from(new Int8Array(raw.buffer));
        break;
      case 'I64':
        data = Float64Array.from(new BigInt64Array(raw.buffer), (x) => Number(x));
        break;
      case 'BF16': {
        const u16 = new Uint16Array(raw.buffer);
        const u32 = new Uint32Array(u16.length);
        for (let i = 0; i < u16.length; i++) u32[i] = u16[i] << 16;
        data = new Float32Array(u32.buffer);
        break;
      }
      default:
        throw new Error(`readSafetensors: ${path}: tensor '${name}' has dtype ${info.dtype}, which this test reader does not handle`);
    }
    out[name] = { dtype: info.dtype, shape: info.shape, data };
  }
  return out;
}

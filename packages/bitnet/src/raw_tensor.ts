/**
 * Host tensors in safetensors form (dtype name, shape, little-endian data), the form
 * `PackedBitLinear.toTensors` writes and `fromTensors` reads besides tfjs tensors. Structurally
 * the same as `@falcon/checkpoint`'s raw tensors, so they can be written to a checkpoint as they are.
 */
import { bf16ToF32, f16ToF32, tf } from '@falcon/tensor';
import type { OpCheck, Tensor } from '@falcon/tensor';

/** A host tensor: safetensors dtype, shape, data (`Uint8Array` for U8, `Float32Array` for F32, `Uint16Array` bit patterns for BF16/F16). */
export interface RawTensorData {
  /** safetensors dtype name. */
  dtype: 'U8' | 'F32' | 'BF16' | 'F16';
  /** Shape, row-major. */
  shape: readonly number[];
  /** The values. */
  data: Uint8Array | Float32Array | Uint16Array;
}

/** A tensor given to `fromTensors`: a tfjs tensor or a {@link RawTensorData}. */
export type TensorLike = Tensor | RawTensorData;

/**
 * Float values of a tensor-like, as f32 (read asynchronously: GPU tensors cannot be read synchronously).
 * @param t - tfjs tensor or raw F32/BF16/F16 (or U8) data
 * @internal
 */
export async function floatValues(t: TensorLike): Promise<Float32Array> {
  if (t instanceof tf.Tensor) return Float32Array.from(await t.data());
  if (t.dtype === 'BF16') return bf16ToF32(t.data as Uint16Array);
  if (t.dtype === 'F16') return f16ToF32(t.data as Uint16Array);
  return Float32Array.from(t.data);
}

/**
 * Byte values of a tensor-like (U8 raw data, or an int32/float32 tfjs tensor of values in 0..255).
 * @param t - the tensor-like @param c - the caller's checker @param what - name for error messages
 * @internal
 */
export async function byteValues(t: TensorLike, c: OpCheck, what: string): Promise<Uint8Array> {
  if (!(t instanceof tf.Tensor)) {
    if (t.dtype !== 'U8' || !(t.data instanceof Uint8Array)) c.fail(`${what} must be U8 data (packed bytes), got ${t.dtype}`);
    return t.data;
  }
  const v = await t.data();
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const b = v[i];
    if (!(Number.isInteger(b) && b >= 0 && b <= 255)) c.fail(`${what} must hold bytes (0..255), got ${b} at flat index ${i}`);
    out[i] = b;
  }
  return out;
}

/** Shape of a tensor-like. @param t - the tensor-like @internal */
export function shapeOf(t: TensorLike): readonly number[] {
  return t instanceof tf.Tensor ? t.shape : t.shape;
}

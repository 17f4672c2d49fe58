/**
 * What a writer accepts (tfjs tensors, tensors with a target dtype, raw bytes, lazily loaded
 * tensors) and the checking of it: every entry's dtype, shape and size are fixed before any byte is
 * written, and the write order is chosen (largest element size first, then by name, so each tensor is
 * aligned to its element size). No Node APIs.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { SafetensorsError } from '../errors.js';
import { defaultSafetensorsDtype, rawBytes, tensorToRaw } from './convert.js';
import type { RawTensor } from './convert.js';
import { dtypeByteSize, isSafetensorsDtype, shapeSize, SAFETENSORS_DTYPES } from './dtypes.js';
import type { SafetensorsDtype, SafetensorsTypedArray } from './dtypes.js';

/** A tfjs tensor with the dtype to store it as (e.g. `{ tensor: w, dtype: 'BF16' }`). */
export interface TensorWithDtype {
  /** A float32, int32 or bool tensor (not disposed by the writer). */
  tensor: Tensor;
  /** The dtype to store; default: the `dtype` option for float32 tensors, else the natural dtype. */
  dtype?: SafetensorsDtype;
}

/**
 * A tensor whose data is produced only when it is written (streaming a conversion layer by layer):
 * dtype and shape are declared up front (the header needs them), `load` is called once, in write order.
 */
export interface LazyTensor {
  /** The dtype to store. */
  dtype: SafetensorsDtype;
  /** The shape of the data `load` returns. */
  shape: readonly number[];
  /**
   * Produce the data: a tfjs tensor (converted to `dtype`, then disposed by the writer) or the raw
   * bytes / typed array of exactly `numel · dtypeByteSize(dtype)` bytes.
   */
  load: () => Promise<Tensor | Uint8Array | SafetensorsTypedArray> | Tensor | Uint8Array | SafetensorsTypedArray;
}

/**
 * One tensor to write: a tfjs tensor (stored as F32 / I32 / BOOL, or the `dtype` option for float32),
 * a tensor with its own target dtype, raw data ({@link RawTensor}), or a {@link LazyTensor}.
 */
export type WriteEntry = Tensor | TensorWithDtype | RawTensor | LazyTensor;

/** The tensors to write, by name: a Map, a plain object, or an iterable of `[name, entry]` pairs. */
export type TensorsToWrite = ReadonlyMap<string, WriteEntry> | Readonly<Record<string, WriteEntry>> | Iterable<readonly [string, WriteEntry]>;

/** Options of {@link writeSafetensors} and {@link serializeSafetensors}. */
export interface WriteOptions {
  /** The `__metadata__` string→string map to store (none by default). */
  metadata?: Readonly<Record<string, string>>;
  /** Store float32 tfjs tensors that have no dtype of their own as this float dtype (e.g. `'BF16'`). Default F32. */
  dtype?: SafetensorsDtype;
  /** fsync the file before renaming it into place (default true; false is faster and less durable). */
  fsync?: boolean;
}

/** A tensor ready to write: its header entry and how to get its bytes. @internal */
export interface PlannedTensor {
  /** Tensor name. */
  name: string;
  /** Stored dtype. */
  dtype: SafetensorsDtype;
  /** Shape. */
  shape: readonly number[];
  /** Size of the data in bytes. */
  byteLength: number;
  /** Produce the bytes (exactly `byteLength`). */
  bytes: () => Promise<Uint8Array>;
}

/** A tfjs tensor (also one made by another copy of tfjs-core, which `instanceof` would miss). */
function isTensor(x: unknown): x is Tensor {
  if (x instanceof tf.Tensor) return true;
  const t = x as Partial<Tensor> | null;
  return typeof t === 'object' && t !== null && typeof t.dataId === 'object' && Array.isArray(t.shape) && typeof t.dtype === 'string' && typeof t.data === 'function';
}

function entriesOf(tensors: TensorsToWrite): Iterable<readonly [string, WriteEntry]> {
  if (tensors instanceof Map) return tensors.entries();
  if (typeof (tensors as Iterable<unknown>)[Symbol.iterator] === 'function') return tensors as Iterable<readonly [string, WriteEntry]>;
  return Object.entries(tensors as Record<string, WriteEntry>);
}

function checkDtype(dtype: unknown, file: string | undefined, tensor: string): SafetensorsDtype {
  if (!isSafetensorsDtype(dtype)) throw new SafetensorsError(`unknown dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, { file, tensor });
  return dtype;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Check every entry and fix its dtype, shape and size before anything is written. @internal
 * @param file - file name for error messages
 */
export function planTensors(tensors: TensorsToWrite, options: WriteOptions, file?: string): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  const floatDtype = options.dtype === undefined ? undefined : checkDtype(options.dtype, file, '(dtype option)');
  for (const [name, entry] of entriesOf(tensors)) {
    const where = { file, tensor: name };
    if (isTensor(entry) || (typeof entry === 'object' && entry !== null && 'tensor' in entry && isTensor(entry.tensor))) {
      const t = isTensor(entry) ? entry : (entry as TensorWithDtype).tensor;
      const own = isTensor(entry) ? undefined : (entry as TensorWithDtype).dtype;
      const dtype = own !== undefined ? checkDtype(own, file, name) : t.dtype === 'float32' && floatDtype ? floatDtype : defaultSafetensorsDtype(t.dtype);
      if (t.isDisposed) throw new SafetensorsError('the tensor is disposed', where);
      planned.push({ name, dtype, shape: t.shape, byteLength: t.size * dtypeByteSize(dtype), bytes: async () => (await tensorToRaw(t, dtype, where)).data });
    } else if (typeof entry === 'object' && entry !== null && 'load' in entry && typeof entry.load === 'function') {
      const lazy = entry as LazyTensor;
      const dtype = checkDtype(lazy.dtype, file, name);
      const shape = [...lazy.shape];
      const byteLength = shapeSize(shape, where) * dtypeByteSize(dtype);
      planned.push({
        name,
        dtype,
        shape,
        byteLength,
        bytes: async () => {
          const data = await lazy.load();
          if (!isTensor(data)) return rawBytes({ dtype, shape, data }, where);
          try {
            if (!sameShape(data.shape, shape)) throw new SafetensorsError(`load() returned a tensor of shape [${data.shape.join(', ')}], declared [${shape.join(', ')}]`, where);
            return (await tensorToRaw(data, dtype, where)).data;
          } finally {
            data.dispose();
          }
        },
      });
    } else if (typeof entry === 'object' && entry !== null && 'data' in entry && ArrayBuffer.isView(entry.data)) {
      const raw = entry as RawTensor;
      const dtype = checkDtype(raw.dtype, file, name);
      const data = rawBytes({ dtype, shape: raw.shape, data: raw.data }, where);
      planned.push({ name, dtype, shape: [...raw.shape], byteLength: data.byteLength, bytes: async () => data });
    } else {
      throw new SafetensorsError('entry is not a tfjs tensor, {tensor, dtype}, {dtype, shape, data} or {dtype, shape, load}', where);
    }
  }
  return planned;
}

/** Order tensors for writing: larger elements first (so every tensor is aligned to its element size), then by name. @internal */
export function alignedOrder(planned: readonly PlannedTensor[]): PlannedTensor[] {
  return [...planned].sort((a, b) => dtypeByteSize(b.dtype) - dtypeByteSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}


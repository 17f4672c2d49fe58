/**
 * Packed BitNet weights (`encoding: 'ternary2'`) in distributed checkpoints: a rank's packed
 * tensor in the forms callers hold it (bytes, or the int32 words the ternary kernels read), and
 * decoding to / encoding from the ternary values of its local matrix, with @falcon/bitnet's
 * transformers-compatible packing (re-sharding decodes, copies and re-packs).
 */
import { packedRows, packedWeightTensor, packedWordsToBytes, packTernary, unpackTernary } from '@falcon/bitnet';
import { localShape } from '@falcon/parallel';
import type { ShardSpec } from '@falcon/parallel';
import type { Tensor } from '@falcon/tensor';

/**
 * The packed bytes `[ceil(rows/4), cols]` of a rank's ternary2 tensor.
 * @param name - the tensor's name (for errors)
 * @param t - the bytes, or the int32 words of `packedWeightTensor` (4 bytes each)
 * @param spec - its spec (local matrix `[rows, cols]` = `localShape`(spec))
 * @throws when the size does not fit the spec
 */
export async function packedBytes(name: string, t: Tensor | Uint8Array, spec: ShardSpec): Promise<Uint8Array> {
  const problem = packedSizeProblem(name, t, spec);
  if (problem) throw new Error(problem);
  if (t instanceof Uint8Array) return t;
  const [rows, cols] = localShape(spec);
  return packedWordsToBytes((await t.data()) as Int32Array, packedRows(rows) * cols);
}

/**
 * What is wrong with the size of a rank's packed tensor, if anything.
 * @param name - the tensor's name (for the message)
 * @param t - bytes or int32 words (see {@link packedBytes})
 * @param spec - its ternary2 spec
 */
export function packedSizeProblem(name: string, t: Tensor | Uint8Array, spec: ShardSpec): string | undefined {
  const [rows, cols] = localShape(spec);
  const n = packedRows(rows) * cols;
  if (t instanceof Uint8Array) return t.byteLength === n ? undefined : `${name}: ${t.byteLength} packed bytes, the spec's [${rows}, ${cols}] matrix packs into ${n}`;
  return t.dtype === 'int32' && t.size === Math.ceil(n / 4) ? undefined : `${name}: a packed tensor must be the int32 words of ${n} bytes (${Math.ceil(n / 4)} words), got ${t.dtype} [${t.shape}]`;
}

/** The ternary values (row-major, `localShape(spec)`) of a rank's packed bytes. */
export function decodeTernary(bytes: Uint8Array, spec: ShardSpec): Int8Array {
  const [rows, cols] = localShape(spec);
  return unpackTernary(bytes, rows, cols);
}

/** A target's packed tensor (the int32 words of `packedWeightTensor`) from its ternary values. */
export function encodeTernary(values: ArrayLike<number>, spec: ShardSpec): Tensor {
  const [rows, cols] = localShape(spec);
  return packedWeightTensor(packTernary(values, rows, cols));
}

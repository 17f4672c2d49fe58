/**
 * The signature of the op `FalconKvCacheWrite` (`kv_cache_write.ts`): its kernel name, inputs,
 * outputs and attributes, imported by the op and its kernels.
 */

/** Kernel name, inputs and outputs of `FalconKvCacheWrite`, in order. @internal */
export const kvCacheWriteSignature = {
  name: 'FalconKvCacheWrite',
  /** cache `[batch, capacity, ...row]` (written in place), x `[batch, newTokens, ...row]` of the same dtype */
  inputs: ['cache', 'x'],
  optionalInputs: [],
  /** y: the cache itself (the same data), rows `[offset, offset + newTokens)` replaced by x */
  outputs: ['y'],
} as const;

/** Required inputs of the op. @internal */
export type KvCacheWriteInputName = (typeof kvCacheWriteSignature.inputs)[number];
/** Outputs of the op. @internal */
export type KvCacheWriteOutputName = (typeof kvCacheWriteSignature.outputs)[number];

/** Attributes of `FalconKvCacheWrite`. */
export interface KvCacheWriteAttrs {
  /** The first row (along axis 1) written. */
  offset: number;
}

/**
 * Where the rows go, in elements: `batch` runs of `width = newTokens · rowSize` elements, read
 * from x at `b · width` and written into the cache at `(b · capacity + offset) · rowSize`.
 * @internal
 */
export function kvCacheWriteLayout(cacheShape: readonly number[], xShape: readonly number[], offset: number): { batch: number; width: number; srcPitch: number; dstPitch: number; dstStart: number } {
  const row = cacheShape.slice(2).reduce((a, b) => a * b, 1);
  const [batch, capacity] = cacheShape;
  const width = xShape[1] * row;
  return { batch, width, srcPitch: width, dstPitch: capacity * row, dstStart: offset * row };
}

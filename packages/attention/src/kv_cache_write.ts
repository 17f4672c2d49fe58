/**
 * `kvCacheWrite`: write new rows into a preallocated cache buffer in place (kernel
 * `FalconKvCacheWrite`), what {@link KVCache.append} runs on every backend: a host copy on cpu, a
 * buffer-to-buffer copy on webgpu, one strided device copy on cuda — O(new rows) work, no new
 * buffer, no slice + concat of the whole cache.
 */
import { defineOp } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { kvCacheWriteCpu } from './kernels/cpu/kv_cache_write.js';
import { kvCacheWriteCuda } from './kernels/cuda/kv_cache_write.js';
import { kvCacheWriteWebgpu } from './kernels/webgpu/kv_cache_write.js';
import { kvCacheWriteSignature } from './kv_cache_write_signature.js';
import type { KvCacheWriteAttrs, KvCacheWriteInputName, KvCacheWriteOutputName } from './kv_cache_write_signature.js';
import { check } from './validate.js';

const FN = 'kvCacheWrite';

/**
 * The op `FalconKvCacheWrite` (not differentiable: a cache is inference state). Its output shares
 * the cache's data: every tensor of that data sees the new rows. @internal
 */
export const kvCacheWriteOp = defineOp<KvCacheWriteInputName, never, KvCacheWriteAttrs, KvCacheWriteOutputName>({
  ...kvCacheWriteSignature,
  validate: ({ cache, x }, { offset }) => {
    const c = check(FN);
    c.require(cache.rank >= 2, () => `cache must have rank ≥ 2 ([batch, capacity, ...]), got [${cache.shape}]`);
    c.require(cache.dtype === 'float32' && x.dtype === 'float32', () => `cache and x must be float32, got ${cache.dtype} and ${x.dtype}`);
    c.require(x.rank === cache.rank && x.shape[0] === cache.shape[0] && x.shape.slice(2).every((d, i) => d === cache.shape[i + 2]), () => `x has shape [${x.shape}], expected [${cache.shape[0]},newTokens,${cache.shape.slice(2)}] (the cache's batch and row shape)`);
    c.attr('offset').int(offset, { min: 0 });
    const n = x.shape[1]!;
    c.require(offset + n <= cache.shape[1]!, () => `rows ${offset}…${offset + n - 1} are beyond the cache capacity ${cache.shape[1]}`);
  },
  kernels: { cpu: kvCacheWriteCpu, webgpu: kvCacheWriteWebgpu, cuda: kvCacheWriteCuda },
});

/**
 * Write x into rows `[offset, offset + newTokens)` of the cache, in place.
 * @param cache - float32 `[batch, capacity, ...row]`, a buffer the caller owns (its data is changed)
 * @param x - float32 `[batch, newTokens, ...row]`
 * @param offset - the first row written
 * @returns a new handle of the cache's data (dispose it, or the cache handle, as any tensor)
 */
export function kvCacheWrite(cache: Tensor, x: Tensor, offset: number): Tensor {
  return kvCacheWriteOp({ cache, x }, { offset }).y;
}

/** CPU kernel of `kvCacheWrite`: copies x's rows into the cache's host array, which the cpu backend keeps as the tensor's storage. */
import type { OpKernel } from '@falcon/tensor';
import { kvCacheWriteLayout } from '../../kv_cache_write_signature.js';
import type { KvCacheWriteAttrs, KvCacheWriteInputName, KvCacheWriteOutputName } from '../../kv_cache_write_signature.js';

/** The `kvCacheWrite` cpu kernel: in place, O(new rows). */
export const kvCacheWriteCpu: OpKernel<KvCacheWriteInputName, never, KvCacheWriteAttrs, KvCacheWriteOutputName> = ({ inputs: { cache, x }, attrs, backend }) => {
  const dst = backend.readSync(cache.dataId) as Float32Array | Int32Array | Uint8Array;
  const src = backend.readSync(x.dataId) as Float32Array | Int32Array | Uint8Array;
  const { batch, width, srcPitch, dstPitch, dstStart } = kvCacheWriteLayout(cache.shape, x.shape, attrs.offset);
  for (let b = 0; b < batch; b++) dst.set(src.subarray(b * srcPitch, b * srcPitch + width), b * dstPitch + dstStart);
  backend.incRef(cache.dataId);
  return { y: { dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype } };
};

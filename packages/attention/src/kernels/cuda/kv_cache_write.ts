/**
 * CUDA kernel of `kvCacheWrite`: one strided device copy (`copy2d` of the cuda backend, a
 * cudaMemcpy2DAsync on its stream): `batch` rows of `newTokens · row` elements into the cache.
 */
import type { CudaBackend, OpKernel } from '@falcon/tensor';
import { kvCacheWriteLayout } from '../../kv_cache_write_signature.js';
import type { KvCacheWriteAttrs, KvCacheWriteInputName, KvCacheWriteOutputName } from '../../kv_cache_write_signature.js';

/** The `kvCacheWrite` cuda kernel: in place (the cache must be device data without a host copy, as KVCache's buffers are). */
export const kvCacheWriteCuda: OpKernel<KvCacheWriteInputName, never, KvCacheWriteAttrs, KvCacheWriteOutputName> = ({ inputs: { cache, x }, attrs, backend }) => {
  const b = backend as unknown as CudaBackend;
  const { batch, width, srcPitch, dstPitch, dstStart } = kvCacheWriteLayout(cache.shape, x.shape, attrs.offset);
  const elem = 4; // float32 and int32 (the cache dtypes)
  b.native.copy2d({ src: b.ptr(x), srcPitch: srcPitch * elem, dst: b.ptr(cache) + dstStart * elem, dstPitch: dstPitch * elem, widthBytes: width * elem, rows: batch });
  b.incRef(cache.dataId);
  return { y: { dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype } };
};

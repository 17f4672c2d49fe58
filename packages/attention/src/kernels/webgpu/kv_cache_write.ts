/**
 * WebGPU kernel of `kvCacheWrite`: one `copyBufferToBuffer` per sequence, recorded in tfjs's
 * command encoder between its compute passes (so it runs after the programs that wrote x and
 * before those that read the cache); no shader, no new buffer.
 */
import type { OpKernel, TensorInfo } from '@falcon/tensor';
import { kvCacheWriteLayout } from '../../kv_cache_write_signature.js';
import type { KvCacheWriteAttrs, KvCacheWriteInputName, KvCacheWriteOutputName } from '../../kv_cache_write_signature.js';

/** What the kernel uses of tfjs-backend-webgpu's WebGPUBackend. */
interface TfjsWebgpu {
  tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown } };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void };
  commandQueueOwnedIds: WeakSet<object>;
}

const BYTES = 4; // float32, int32 and bool all take 4 bytes per element on webgpu

/** The `kvCacheWrite` webgpu kernel: in place. */
export const kvCacheWriteWebgpu: OpKernel<KvCacheWriteInputName, never, KvCacheWriteAttrs, KvCacheWriteOutputName> = ({ inputs: { cache, x }, attrs, backend }) => {
  const b = backend as unknown as TfjsWebgpu & { incRef(dataId: object): void };
  const { batch, width, srcPitch, dstPitch, dstStart } = kvCacheWriteLayout(cache.shape, x.shape, attrs.offset);
  b.uploadToGPU(cache.dataId);
  b.uploadToGPU(x.dataId);
  const dst = b.tensorMap.get(cache.dataId);
  const src = b.tensorMap.get(x.dataId).resource;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  for (let i = 0; i < batch; i++) b.commandEncoder.copyBufferToBuffer(src, i * srcPitch * BYTES, dst.resource, (i * dstPitch + dstStart) * BYTES, width * BYTES);
  // both buffers are used by the queued commands: tfjs must not reuse them before the submit
  b.commandQueueOwnedIds.add(cache.dataId);
  b.commandQueueOwnedIds.add(x.dataId);
  dst.values = null; // a host copy from an earlier read is stale now
  b.incRef(cache.dataId);
  const y: TensorInfo = { dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype };
  return { y };
};

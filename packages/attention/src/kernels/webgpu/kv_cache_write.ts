/**
 * WebGPU kernel of `kvCacheWrite`: one `copyBufferToBuffer` per sequence, recorded in tfjs's
 * command encoder between its compute passes (so it runs after the programs that wrote x and
 * before those that read the cache); no shader, no new buffer.
 */
import { runWebgpuProgram } from '@falcon/tensor';
import type { OpKernel, TensorInfo } from '@falcon/tensor';
import { kvCacheWriteLayout } from '../../kv_cache_write_signature.js';
import type { KvCacheWriteAttrs, KvCacheWriteInputName, KvCacheWriteOutputName } from '../../kv_cache_write_signature.js';

/** What the kernel uses of tfjs-backend-webgpu's WebGPUBackend. */
interface TfjsWebgpu {
  tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown; dtype: string } };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void };
  commandQueueOwnedIds: WeakSet<object>;
}

const BYTES = 4; // float32, int32 and bool all take 4 bytes per element on webgpu

/**
 * x's data as float32 words. tfjs-webgpu casts int32/bool to float32 without converting (the
 * buffer keeps its int32 words, programs convert when they read): such data is converted first.
 */
function float32Words(backend: Parameters<typeof runWebgpuProgram>[0], b: TfjsWebgpu, x: TensorInfo): TensorInfo | undefined {
  if (b.tensorMap.get(x.dataId).dtype === 'float32') return undefined;
  const n = x.shape.reduce((a, d) => a * d, 1);
  return runWebgpuProgram(backend, {
    name: 'FalconKvCacheWriteToFloat',
    inputs: { x },
    outputShape: [n],
    dispatch: Math.ceil(n / 64),
    shader: 'fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, f32(x[index])); } }',
  });
}

/** The `kvCacheWrite` webgpu kernel: in place. */
export const kvCacheWriteWebgpu: OpKernel<KvCacheWriteInputName, never, KvCacheWriteAttrs, KvCacheWriteOutputName> = ({ inputs: { cache, x }, attrs, backend }) => {
  const b = backend as unknown as TfjsWebgpu & { incRef(dataId: object): void };
  const { batch, width, srcPitch, dstPitch, dstStart } = kvCacheWriteLayout(cache.shape, x.shape, attrs.offset);
  if (b.tensorMap.get(cache.dataId).dtype !== 'float32') throw new Error('kvCacheWrite: the cache buffer holds int32 words (a cast of int32 data); allocate it as float32 (KVCache does)');
  const converted = float32Words(backend, b, x);
  const from = converted ?? x;
  b.uploadToGPU(cache.dataId);
  b.uploadToGPU(from.dataId);
  const dst = b.tensorMap.get(cache.dataId);
  const src = b.tensorMap.get(from.dataId).resource;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  for (let i = 0; i < batch; i++) b.commandEncoder.copyBufferToBuffer(src, i * srcPitch * BYTES, dst.resource, (i * dstPitch + dstStart) * BYTES, width * BYTES);
  // both buffers are used by the queued commands: tfjs must not reuse them before the submit
  b.commandQueueOwnedIds.add(cache.dataId);
  b.commandQueueOwnedIds.add(from.dataId);
  if (converted) backend.disposeData(converted.dataId); // released after the submit
  dst.values = null; // a host copy from an earlier read is stale now
  b.incRef(cache.dataId);
  const y: TensorInfo = { dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype };
  return { y };
};

/**
 * `CudaBackend`: the tfjs `KernelBackend` over the CUDA addon. It owns the tensor storage (device
 * blocks from the addon's caching allocator, refcounted as tfjs requires; data written from the
 * host is uploaded on first use), reads data back synchronously or without blocking the event
 * loop, reports memory and times kernels with CUDA events. Kernels live in `./kernels/`; they call
 * the addon's kernels through {@link CudaBackend.native} with named parameters.
 */
import type { BackendTimingInfo, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { DataStorage, engine, KernelBackend } from '@tensorflow/tfjs-core';
import { bindNative } from '../../op/cuda/signature.js';
import type { CudaAddon, TensorNative } from './addon.js';
import { tensorNative } from './addon.js';
import { sizeOf } from './shape.js';

/**
 * How products round their inputs; storage stays float32 in every mode and products accumulate in
 * float32 (their outputs are float32 tensors):
 * - `'tf32'` (default): TF32 tensor cores (10-bit mantissa) for cuBLASLt's matrix products
 *   (BatchMatMul, _FusedMatMul); the ops' own kernels (attention, SSD) compute in float32.
 * - `'bf16'`: cuBLASLt's products of float32 tensors round both operands to bf16 (8-bit mantissa,
 *   round to nearest even, the bits of `f32ToBf16`) into scratch copies on the device and run on
 *   bf16 tensor cores with float32 accumulation (`CUBLAS_COMPUTE_32F`), ~2⁻⁹ relative from f32;
 *   also the bf16 tensor-core kernels of the ops that have them (flash attention forward and
 *   backward, head dims ≤ 128), inputs rounded to bf16 when staged.
 * - `'f32'`: exact float32 everywhere (parity tests).
 *
 * int32 products are exact (float32 products of the integer values) in every mode.
 */
export type MatmulPrecision = 'tf32' | 'bf16' | 'f32';

/** The numeric dtype codes the addon uses. @internal */
export const DT = { float32: 0, int32: 1, bool: 2 } as const;

type Values = Float32Array | Int32Array | Uint8Array;

interface TensorData {
  dtype: DataType;
  size: number;
  refCount: number;
  /** Device pointer, 0 until uploaded (and for empty tensors). */
  ptr: number;
  /** Host copy: set by write/move until uploaded; small tensors keep it as a read cache. */
  values?: Values;
}

/** Host copies of tensors up to this many elements are kept after upload (cheap scalar reads). */
const KEEP_HOST = 64;

/** Bytes per element of a supported dtype; throws a clear error for the others. @internal */
export function dtypeBytes(dtype: DataType): number {
  if (dtype === 'float32' || dtype === 'int32') return 4;
  if (dtype === 'bool') return 1;
  throw new Error(`the cuda backend does not support dtype '${dtype}' (float32, int32 and bool only)`);
}

/** The addon's dtype code of a supported dtype. @internal */
export function dtypeCode(dtype: DataType): number {
  dtypeBytes(dtype);
  return DT[dtype as keyof typeof DT];
}

function toTyped(values: unknown, dtype: DataType, size: number): Values {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  if (dtype === 'bool') return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  throw new Error(`the cuda backend does not support dtype '${dtype}' (float32, int32 and bool only; got ${size} values)`);
}

function emptyTyped(dtype: DataType, size: number): Values {
  return dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
}

/** Memory report of the cuda backend (tfjs adds numTensors, numDataBuffers and numBytes). */
export interface CudaMemoryInfo {
  /** False: the numbers are exact. */
  unreliable: boolean;
  /** Bytes of device blocks held by tensors (block sizes, rounded up by the allocator). */
  numBytesInGPU: number;
  /** Bytes the allocator holds from the driver: in use plus cached. */
  numBytesInGPUAllocated: number;
  /** Bytes cached by the allocator, free for reuse without asking the driver. */
  numBytesInGPUFree: number;
  /** Same as numBytesInGPU. */
  bytesInUse: number;
  /** Same as numBytesInGPUFree. */
  bytesCached: number;
  /** Highest bytesInUse so far. */
  peakBytesInUse: number;
  /** Device blocks held by tensors. */
  liveBlocks: number;
  /** Blocks in the cache. */
  cachedBlocks: number;
  /** Allocations the cache served without calling the driver. */
  cacheHits: number;
  /** Calls to cudaMalloc so far. */
  driverAllocs: number;
  /** Bytes of host data written but not uploaded yet. */
  bytesPendingUpload: number;
  /** cuBLASLt's workspace (allocated once, outside the cache). */
  workspaceBytes: number;
  /** Data ids this backend holds. */
  numDataIds: number;
}

/** The tfjs backend for NVIDIA GPUs. Create it through `initBackend('cuda')`. */
export class CudaBackend extends KernelBackend {
  /** The addon this backend drives. @internal */
  readonly addon: CudaAddon;
  /** The addon's kernels, called with named parameters (checked against its signatures at construction). @internal */
  readonly native: TensorNative;
  /** What the addon's init() found (device name, memory, cuBLASLt). */
  readonly info: Record<string, unknown>;
  /** Precision of matrix products (see {@link MatmulPrecision}); may be changed at any time. */
  matmulPrecision: MatmulPrecision;
  /** The CUDA device index this backend runs on. */
  readonly device: number;
  /** The stream all of this backend's work is queued on, as a number (see `cudaKernel`); fixed for the backend's life. */
  readonly stream: number;
  private readonly data: DataStorage<TensorData>;
  private pendingBytes = 0;

  /**
   * @param addon - the loaded addon (its kernels' signatures must match `tensorNative`)
   * @param device - CUDA device index
   * @param matmulPrecision - 'tf32' (default), 'bf16' or 'f32' (see {@link MatmulPrecision})
   */
  constructor(addon: CudaAddon, device = 0, matmulPrecision: MatmulPrecision = 'tf32') {
    super();
    this.addon = addon;
    this.native = bindNative('@falcon/tensor', addon, tensorNative);
    this.device = device;
    this.info = addon.init(device);
    this.stream = addon.stream();
    this.matmulPrecision = matmulPrecision;
    this.data = new DataStorage(this, engine());
  }

  // ---- storage ----

  /** Stores host values; they are uploaded when a kernel first needs them. */
  override write(values: unknown, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.store(dataId, values, shape, dtype, 1);
    return dataId;
  }

  /** Adopts data another backend held, under its existing data id. */
  override move(dataId: DataId, values: unknown, shape: number[], dtype: DataType, refCount: number): void {
    this.store(dataId, values, shape, dtype, refCount);
  }

  private store(dataId: DataId, values: unknown, shape: number[], dtype: DataType, refCount: number): void {
    const size = sizeOf(shape);
    dtypeBytes(dtype);
    const typed = values == null ? emptyTyped(dtype, size) : toTyped(values, dtype, size);
    this.pendingBytes += typed.byteLength;
    this.data.set(dataId, { dtype, size, refCount, ptr: 0, values: typed });
  }

  /** A tensor info for kernels: host `values` if given, otherwise fresh (uninitialised) device memory. */
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo {
    if (values != null) return { dataId: this.write(values, shape, dtype), shape, dtype };
    return this.makeOutput(shape, dtype);
  }

  /** Allocates an output tensor's device memory. @internal */
  makeOutput(shape: number[], dtype: DataType): TensorInfo {
    const size = sizeOf(shape);
    const ptr = size > 0 ? this.addon.alloc(size * dtypeBytes(dtype)) : 0;
    const dataId = {};
    this.data.set(dataId, { dtype, size, refCount: 1, ptr });
    return { dataId, shape, dtype };
  }

  /** The device pointer of a tensor, uploading host data first if needed. @internal */
  ptr(t: TensorInfo | DataId): number {
    const dataId = 'dataId' in (t as TensorInfo) ? (t as TensorInfo).dataId : (t as DataId);
    const d = this.data.get(dataId);
    if (d.ptr === 0 && d.size > 0 && d.values) {
      const bytes = d.size * dtypeBytes(d.dtype);
      d.ptr = this.addon.alloc(bytes);
      this.addon.upload(d.ptr, d.values);
      this.pendingBytes -= d.values.byteLength;
      if (d.size > KEEP_HOST) d.values = undefined;
    }
    return d.ptr;
  }

  /** How many tensors share a data id (0 if unknown). */
  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  /** One more tensor shares this data id. */
  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  /**
   * Drops one reference; the device block goes back to the allocator's cache when none is left
   * (or when `force`). Returns whether the data was released.
   */
  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (d.ptr) this.addon.free(d.ptr);
    else if (d.values) this.pendingBytes -= d.values.byteLength;
    this.data.delete(dataId);
    return true;
  }

  /** Releases an intermediate a kernel made. @internal */
  disposeIntermediateTensorInfo(t: TensorInfo): void {
    this.disposeData(t.dataId);
  }

  /** Data ids held by this backend. */
  override numDataIds(): number {
    return this.data.numDataIds();
  }

  /** The values, after waiting for the queued GPU work (blocks the JavaScript thread). */
  override readSync(dataId: DataId): Values {
    const d = this.data.get(dataId);
    if (d.values) return d.values;
    const out = emptyTyped(d.dtype, d.size);
    if (d.size > 0) this.addon.download(d.ptr, out);
    return out;
  }

  /** The values, copied through pinned memory while the event loop keeps running. */
  override async read(dataId: DataId): Promise<Values> {
    const d = this.data.get(dataId);
    if (d.values) return d.values;
    if (d.size === 0) return emptyTyped(d.dtype, 0);
    const dtype = d.dtype;
    const buf = await this.addon.downloadAsync(d.ptr, d.size * dtypeBytes(dtype));
    return dtype === 'float32' ? new Float32Array(buf) : dtype === 'int32' ? new Int32Array(buf) : new Uint8Array(buf);
  }

  /** Not supported: throws. */
  override readToGPU(): never {
    throw new Error('the cuda backend does not support readToGPU (use read or dataSync)');
  }

  /** Not supported: throws. */
  override createTensorFromGPUData(): never {
    throw new Error('the cuda backend does not support tensors from WebGL/WebGPU data');
  }

  // ---- memory, timing, lifecycle ----

  /** Bytes in use and cached by the caching allocator, and its counters. */
  override memory(): CudaMemoryInfo {
    const m = this.addon.memoryStats();
    return {
      unreliable: false,
      numBytesInGPU: m.device.inUse,
      numBytesInGPUAllocated: m.device.inUse + m.device.cached,
      numBytesInGPUFree: m.device.cached,
      bytesInUse: m.device.inUse,
      bytesCached: m.device.cached,
      peakBytesInUse: m.device.peakInUse,
      liveBlocks: m.device.liveBlocks,
      cachedBlocks: m.device.cachedBlocks,
      cacheHits: m.device.cacheHits,
      driverAllocs: m.device.driverAllocs,
      bytesPendingUpload: this.pendingBytes,
      workspaceBytes: m.workspace,
      numDataIds: this.numDataIds(),
    };
  }

  /** Returns the allocator's cached blocks to the driver (tensors in use are untouched). */
  emptyCache(): void {
    this.addon.emptyCache();
  }

  /** Restarts `peakBytesInUse` of {@link CudaBackend.memory} from the bytes in use now (to measure one phase's peak). */
  resetPeakMemory(): void {
    this.addon.resetPeakMemory();
  }

  /** Waits until all queued GPU work has completed. */
  synchronize(): void {
    this.addon.synchronize();
  }

  /** True: kernels are timed with CUDA events. */
  override timerAvailable(): boolean {
    return true;
  }

  /** Times `f` with CUDA events around the work it queues. */
  override async time(f: () => void): Promise<BackendTimingInfo> {
    const start = this.addon.eventRecord();
    f();
    const end = this.addon.eventRecord();
    return { kernelMs: this.addon.eventElapsed(start, end) };
  }

  /** 32: float32 everywhere. */
  override floatPrecision(): 32 {
    return 32;
  }

  /** Waits for queued work and returns cached blocks to the driver. */
  override dispose(): void {
    this.addon.synchronize();
    this.addon.emptyCache();
  }
}

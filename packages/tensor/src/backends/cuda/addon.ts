/**
 * The Node-API addon behind the cuda backend (`build/falcon_tensor_cuda.node`, built from
 * `csrc/` by `node tools/build-cuda.mjs`): where it is looked for, how it is loaded, and the
 * typed shape of what it exports. Device pointers are plain numbers.
 */
import { findCudaAddon } from './addon_path.js';

/** What the addon's `probe()` reports; it never throws, also on machines without a GPU. */
export interface CudaProbe {
  /** CUDA driver version as an integer (e.g. 13000), 0 without a driver. */
  driverVersion: number;
  /** CUDA runtime version the addon was built with. */
  runtimeVersion: number;
  /** Number of visible devices (0 on error). */
  deviceCount: number;
  /** cudaGetDeviceCount's error, named and explained, when it failed. */
  error?: string;
  /** The visible devices. */
  devices?: { index: number; name: string; computeCapability: string; totalMemory: number; multiprocessors: number }[];
  /** Whether cuBLASLt could be loaded, from where, or why not. */
  cublasLt: { loaded: boolean; path?: string; version?: number; error?: string };
}

/** Counters of one of the addon's caching allocators (bytes unless named otherwise). */
export interface AllocatorStats {
  /** Rounded sizes of blocks handed out and not freed. */
  inUse: number;
  /** Sizes asked for by those blocks' owners. */
  requested: number;
  /** Blocks kept in the free lists (reused before asking the driver). */
  cached: number;
  /** The most `inUse` has been. */
  peakInUse: number;
  /** Blocks handed out. */
  liveBlocks: number;
  /** Blocks in the free lists. */
  cachedBlocks: number;
  /** Calls to the driver's allocator. */
  driverAllocs: number;
  /** Calls to the driver's free. */
  driverFrees: number;
  /** Allocations served from the cache. */
  cacheHits: number;
  /** Times the cache was emptied to retry an allocation the driver refused. */
  oomRetries: number;
}

/** The functions and constants the addon exports. */
export interface CudaAddon {
  /** Reports driver, devices and cuBLASLt without starting anything. */
  probe(): CudaProbe;
  /** Selects the device, creates the stream and the cuBLASLt handle; returns what it found. */
  init(device: number): Record<string, unknown>;
  /** The one stream all work is queued on, as a number (for package addons). */
  stream(): number;
  /** Device memory from the caching allocator (0 bytes gives pointer 0). */
  alloc(bytes: number): number;
  /** Returns a block to the cache. */
  free(ptr: number): void;
  /** Allocator counters, cuBLASLt workspace bytes and the driver's free/total memory. */
  memoryStats(): { device: AllocatorStats; pinned: AllocatorStats; workspace: number; driverFree?: number; driverTotal?: number };
  /** Waits for the stream, then gives every cached block back to the driver. */
  emptyCache(): void;
  /** Queues a host→device copy (the data is staged before the call returns). */
  upload(ptr: number, data: ArrayBufferView): void;
  /** Waits for queued work and copies device memory into `data`. */
  download(ptr: number, data: ArrayBufferView): void;
  /** Queues a device→pinned copy; resolves once it completed, without blocking the event loop. */
  downloadAsync(ptr: number, bytes: number): Promise<ArrayBuffer>;
  /** Queues a device→device copy. */
  copyDevice(src: number, dst: number, bytes: number): void;
  /** Queues a 2-D device copy: `rows` rows of `widthBytes`, with the given row pitches in bytes. */
  copy2d(src: number, srcPitch: number, dst: number, dstPitch: number, widthBytes: number, rows: number): void;
  /** Waits until every queued kernel and copy completed (and reports their errors). */
  synchronize(): void;
  /** Records an event on the stream; returns its id. */
  eventRecord(): number;
  /** Waits for `end`; milliseconds between two recorded events (both are released). */
  eventElapsed(start: number, end: number): number;
  /** Element-wise unary op `op` (an index into `unaryOps`). */
  unary(op: number, dtIn: number, dtOut: number, x: number, y: number, n: number, p0: number, p1: number): void;
  /** Element-wise binary op; `mode` 0: contiguous operands of the output's shape, 1: strides given. */
  binary(op: number, dtIn: number, dtOut: number, a: number, b: number, y: number, n: number, mode: number, shape?: number[], sa?: number[], sb?: number[]): void;
  /** `y = cond ? t : e` with strides as in `binary`. */
  select(dt: number, cond: number, t: number, e: number, y: number, n: number, mode: number, shape?: number[], sc?: number[], st?: number[], se?: number[]): void;
  /** dtype conversion. */
  cast(dtIn: number, dtOut: number, x: number, y: number, n: number): void;
  /** Fills `n` elements with `value`. */
  fill(dt: number, y: number, n: number, value: number): void;
  /** `y[i] = start + i * step`. */
  range(dt: number, y: number, n: number, start: number, step: number): void;
  /** The general strided copy (see csrc/common.h `Copy`). */
  copy(dt: number, x: number, y: number, n: number, pad: number, shape: number[], begin: number[], step: number[], mod: number[], limit: number[], stride: number[]): void;
  /** `y[b, c, r] = x[b, r, c]` through shared-memory tiles. */
  transpose2d(dt: number, x: number, y: number, batch: number, rows: number, cols: number): void;
  /** `y[b, o, j, s] = x[b, o, idx[b, j], s]`. */
  gather(dt: number, x: number, idx: number, y: number, batch: number, outer: number, dim: number, slice: number, nIdx: number): void;
  /** `y[k, s] = Σ_{r: seg[r] = k} x[r, s]` (y is zeroed first). */
  segmentSum(dt: number, x: number, seg: number, y: number, rows: number, slice: number, numSegments: number): void;
  /** `y[i, d] = idx[i] == d ? on : off`. */
  oneHot(dt: number, idx: number, y: number, n: number, depth: number, on: number, off: number): void;
  /** Reduction `op` (an index into `reduceOps`) over the middle axis of [outer, r, inner]. */
  reduce(op: number, dt: number, x: number, y: number, outer: number, r: number, inner: number): void;
  /** Index of the max (or min) over the middle axis of [outer, r, inner], as int32. */
  argReduce(isMax: boolean, dt: number, x: number, y: number, outer: number, r: number, inner: number): void;
  /** Cumulative sum (or product) along the middle axis of [outer, r, inner]. */
  cumulative(isProd: boolean, dt: number, x: number, y: number, outer: number, r: number, inner: number, exclusive: boolean, reverse: boolean): void;
  /** Softmax (or log-softmax) of each row of a float32 [rows, cols] matrix. */
  softmax(x: number, y: number, rows: number, cols: number, log: boolean): void;
  /** Row-major batched float32 product through cuBLASLt (see csrc/cublaslt.h). */
  matmul(a: number, b: number, c: number, m: number, n: number, k: number, batch: number, strideA: number, strideB: number, transA: boolean, transB: boolean, tf32: boolean): void;
  /** RMSNorm of float32 rows of `dim` with a weight of `groups · dim` (row i uses slice i mod groups). */
  rmsNorm(x: number, w: number, y: number, rows: number, dim: number, groups: number, eps: number): void;
  /** Its gradients: dx like x, dw like w (summed over rows). */
  rmsNormBackward(dy: number, x: number, w: number, dx: number, dw: number, rows: number, dim: number, groups: number, eps: number): void;
  /** Names of the unary ops, in the order of their indices. */
  unaryOps: string[];
  /** Names of the binary ops, in the order of their indices. */
  binaryOps: string[];
  /** Names of the reductions, in the order of their indices. */
  reduceOps: string[];
  /** Largest rank the strided kernels accept after merging dimensions. */
  maxDims: number;
}

/** File URL of the addon in this package's `build/` (src/backends/cuda/addon.ts and dist/backends/cuda/addon.js are both three folders below the package). */
function ownAddonUrl(): string {
  return new URL('../../../build/falcon_tensor_cuda.node', import.meta.url).href;
}

/** Where the addon is looked for: `$FALCON_CUDA_ADDON`, else `build/falcon_tensor_cuda.node` in this package, else the platform package `@falcon/tensor-<platform>-<arch>-cuda`. */
export async function cudaAddonPath(): Promise<string> {
  if (process.env.FALCON_CUDA_ADDON) return process.env.FALCON_CUDA_ADDON;
  return findCudaAddon('tensor', ownAddonUrl()).path;
}

let loaded: { path: string; addon?: CudaAddon; error?: string } | undefined;

/**
 * Loads the addon once. Returns it, or the reason it could not be loaded (missing file, or the
 * dynamic loader's message).
 */
export async function loadCudaAddon(): Promise<{ addon?: CudaAddon; error?: string; path: string }> {
  const path = await cudaAddonPath();
  if (loaded && loaded.path === path) return loaded;
  const fs = await import('node:fs');
  if (!fs.existsSync(path)) {
    const error = process.env.FALCON_CUDA_ADDON ? `$FALCON_CUDA_ADDON names ${path}, which does not exist` : findCudaAddon('tensor', ownAddonUrl()).message;
    loaded = { path, error };
    return loaded;
  }
  try {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    loaded = { path, addon: req(path) as CudaAddon };
  } catch (e) {
    loaded = { path, error: `the CUDA addon ${path} could not be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

/**
 * The Node-API addon behind the cuda backend (`build/falcon_tensor_cuda.node`, built from
 * `csrc/` by `node tools/build-cuda.mjs`): where it is looked for, how it is loaded, and the
 * typed shape of what it exports. Device pointers are plain numbers. Its kernels (and the device
 * copies) follow the named native-call contract of `op/cuda/native.ts`: {@link tensorNative}
 * declares each one's parameters once, `csrc/addon.cpp` has the matching structs, and loading
 * compares the two; the backend calls them through `CudaBackend.native` with named parameters.
 */
import type { NativeAddon, NativeExports } from '../../op/cuda/signature.js';
import { nativeCall } from '../../op/cuda/native.js';
import { signatureProblems } from '../../op/cuda/signature.js';
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

const ptr = 'ptr' as const;
const i32 = 'i32' as const;
const i64 = 'i64' as const;
const dims = 'i64[]' as const;

/**
 * The addon's kernels and device copies with their named parameters (csrc/addon.cpp has a
 * params struct of the same fields for each). Pointers are device pointers; `dt*` are dtype codes
 * (`DT` of backend.ts); `op` indexes `unaryOps` / `binaryOps` / `reduceOps`.
 */
export const tensorNative = {
  /** `dst ← src`, `bytes` bytes (queued). */
  copyDevice: nativeCall({ src: ptr, dst: ptr, bytes: i64 }),
  /** 2-D device copy: `rows` rows of `widthBytes`, with the given row pitches in bytes. */
  copy2d: nativeCall({ src: ptr, srcPitch: i64, dst: ptr, dstPitch: i64, widthBytes: i64, rows: i64 }),
  /** Element-wise unary op (p0, p1: ClipByValue's bounds, Step's and LeakyRelu's alpha). */
  unary: nativeCall({ op: i32, dtIn: i32, dtOut: i32, x: ptr, y: ptr, n: i64, p0: 'f32', p1: 'f32' }),
  /** Element-wise binary op; `mode` 0: contiguous operands of the output's shape (empty lists), 1: strides given. */
  binary: nativeCall({ op: i32, dtIn: i32, dtOut: i32, a: ptr, b: ptr, y: ptr, n: i64, mode: i32, shape: dims, strideA: dims, strideB: dims }),
  /** `y = cond ? t : e` with strides as in `binary`. */
  select: nativeCall({ dt: i32, cond: ptr, t: ptr, e: ptr, y: ptr, n: i64, mode: i32, shape: dims, strideCond: dims, strideT: dims, strideE: dims }),
  /** dtype conversion. */
  cast: nativeCall({ dtIn: i32, dtOut: i32, x: ptr, y: ptr, n: i64 }),
  /** Fills `n` elements with `value`. */
  fill: nativeCall({ dt: i32, y: ptr, n: i64, value: 'f64' }),
  /** `y[i] = start + i * step`. */
  range: nativeCall({ dt: i32, y: ptr, n: i64, start: 'f64', step: 'f64' }),
  /** The general strided copy (see csrc/common.h `Copy`): six lists of the same length. */
  copy: nativeCall({ dt: i32, x: ptr, y: ptr, n: i64, pad: 'f64', shape: dims, begin: dims, step: dims, mod: dims, limit: dims, stride: dims }),
  /** `y[b, c, r] = x[b, r, c]` through shared-memory tiles. */
  transpose2d: nativeCall({ dt: i32, x: ptr, y: ptr, batch: i64, rows: i64, cols: i64 }),
  /** `y[b, o, j, s] = x[b, o, idx[b, j], s]`. */
  gather: nativeCall({ dt: i32, x: ptr, idx: ptr, y: ptr, batch: i64, outer: i64, dim: i64, slice: i64, nIdx: i64 }),
  /** `y[k, s] = Σ_{r: seg[r] = k} x[r, s]` (y is zeroed first). */
  segmentSum: nativeCall({ dt: i32, x: ptr, seg: ptr, y: ptr, rows: i64, slice: i64, numSegments: i64 }),
  /** `y[i, d] = idx[i] == d ? on : off`. */
  oneHot: nativeCall({ dt: i32, idx: ptr, y: ptr, n: i64, depth: i64, on: 'f64', off: 'f64' }),
  /** Reduction `op` over the middle axis of [outer, r, inner]. */
  reduce: nativeCall({ op: i32, dt: i32, x: ptr, y: ptr, outer: i64, r: i64, inner: i64 }),
  /** Index of the max (or min) over the middle axis of [outer, r, inner], as int32. */
  argReduce: nativeCall({ isMax: 'bool', dt: i32, x: ptr, y: ptr, outer: i64, r: i64, inner: i64 }),
  /** Cumulative sum (or product) along the middle axis of [outer, r, inner]. */
  cumulative: nativeCall({ isProd: 'bool', dt: i32, x: ptr, y: ptr, outer: i64, r: i64, inner: i64, exclusive: 'bool', reverse: 'bool' }),
  /** Softmax (or log-softmax) of each row of a float32 [rows, cols] matrix. */
  softmax: nativeCall({ x: ptr, y: ptr, rows: i64, cols: i64, log: 'bool' }),
  /**
   * Row-major batched product of float32 tensors through cuBLASLt (see csrc/cublaslt.h): `c` [batch, m, n]
   * float32; `precision` 0: exact f32, 1: TF32 tensor cores, 2: a and b rounded to bf16 (nearest even)
   * in scratch, bf16 tensor cores, float32 accumulation.
   */
  matmul: nativeCall({ a: ptr, b: ptr, c: ptr, m: i64, n: i64, k: i64, batch: i64, strideA: i64, strideB: i64, transA: 'bool', transB: 'bool', precision: i32 }),
  /** RMSNorm of float32 rows of `dim` with a weight of `groups · dim` (row i uses slice i mod groups). */
  rmsNorm: nativeCall({ x: ptr, w: ptr, y: ptr, rows: i64, dim: i32, groups: i32, eps: 'f32' }),
  /** Its gradients: dx like x, dw like w (summed over rows). */
  rmsNormBackward: nativeCall({ dy: ptr, x: ptr, w: ptr, dx: ptr, dw: ptr, rows: i64, dim: i32, groups: i32, eps: 'f32' }),
  /**
   * One AdamW update (csrc/adamw_step.cu): p', m', v' from float32 p, g, m, v of n elements and the
   * clip coefficient at `scale` (a device float32 scalar; 0: none), with the float32 constants of
   * `adamwConstants` (`decay` 1: no weight decay).
   */
  adamwStep: nativeCall({
    p: ptr, g: ptr, m: ptr, v: ptr, scale: ptr, pOut: ptr, mOut: ptr, vOut: ptr, n: i64,
    b1: 'f32', omb1: 'f32', b2: 'f32', omb2: 'f32', bc1: 'f32', bc2: 'f32', eps: 'f32', lr: 'f32', decay: 'f32',
  }),
};

/** The tensor addon's kernels as the backend calls them (named parameters; see {@link tensorNative}). */
export type TensorNative = NativeAddon<typeof tensorNative>;

/** The functions and constants the addon exports. Its kernels are {@link tensorNative} (called through `bindNative`). */
export interface CudaAddon extends NativeExports {
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
  /** Restarts the device allocator's peak (`peakInUse`) from the bytes in use now. */
  resetPeakMemory(): void;
  /** Queues a host→device copy (the data is staged before the call returns). */
  upload(ptr: number, data: ArrayBufferView): void;
  /** Waits for queued work and copies device memory into `data`. */
  download(ptr: number, data: ArrayBufferView): void;
  /** Queues a device→pinned copy; resolves once it completed, without blocking the event loop. */
  downloadAsync(ptr: number, bytes: number): Promise<ArrayBuffer>;
  /** Waits until every queued kernel and copy completed (and reports their errors). */
  synchronize(): void;
  /** Records an event on the stream; returns its id. */
  eventRecord(): number;
  /** Waits for `end`; milliseconds between two recorded events (both are released). */
  eventElapsed(start: number, end: number): number;
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
 * Loads the addon once. Returns it, or the reason it could not be loaded (missing file, the
 * dynamic loader's message, or the differences between its bindings and {@link tensorNative}).
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
    const addon = req(path) as CudaAddon;
    const problems = signatureProblems(addon, tensorNative);
    loaded = problems.length ? { path, error: `the CUDA addon ${path} does not match its TypeScript declarations: ${problems.join('; ')}` } : { path, addon };
  } catch (e) {
    loaded = { path, error: `the CUDA addon ${path} could not be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

/**
 * Helpers shared by the cuda backend's kernels: kernel registration records, casts, reshapes
 * (views sharing the data id), the strided copy with its fast paths (plain memcpy, tiled
 * transpose), and op-name lookups in the addon.
 */
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeBytes, dtypeCode } from '../backend.js';
import type { CopyDesc } from '../shape.js';
import { normalizeCopy, sizeOf, transposeDesc } from '../shape.js';

/** The arguments tfjs passes to a kernel, with the cuda backend. */
export interface Args {
  /** Named inputs (or an array for Concat/Pack/AddN). */
  inputs: Record<string, TensorInfo> | TensorInfo[];
  /** The backend running the kernel. */
  backend: CudaBackend;
  /** Attributes. */
  attrs?: Record<string, unknown>;
}

/** A kernel registration record for the cuda backend. */
export function kernel(kernelName: string, fn: (args: Args) => TensorInfo | TensorInfo[]): KernelConfig {
  return { kernelName, backendName: 'cuda', kernelFunc: fn as unknown as KernelFunc };
}

/** The named input `name`, or a clear error naming the kernel. */
export function input(args: Args, name: string, kernelName: string): TensorInfo {
  const t = (args.inputs as Record<string, TensorInfo>)[name];
  if (!t) throw new Error(`${kernelName}: missing input '${name}'`);
  return t;
}

/** Inputs given as a list (Concat, Pack, AddN). */
export function inputList(args: Args): TensorInfo[] {
  return Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs);
}

const indexCache = new WeakMap<string[], Map<string, number>>();
/** Index of an op name in one of the addon's op lists, or a clear error. */
export function opIndex(list: string[], name: string): number {
  let m = indexCache.get(list);
  if (!m) {
    m = new Map(list.map((n, i) => [n, i]));
    indexCache.set(list, m);
  }
  const i = m.get(name);
  if (i === undefined) throw new Error(`the CUDA addon has no op '${name}' (rebuild it with 'npm run build:cuda')`);
  return i;
}

/** The empty list of the stride fields of a contiguous element-wise call (mode 0). */
export const NO_DIMS: readonly number[] = Object.freeze([]);

/** A new reference to `x` under another shape (tfjs reshape: a view sharing the data id). */
export function reshapeInfo(b: CudaBackend, x: TensorInfo, shape: number[]): TensorInfo {
  const s = util.inferFromImplicitShape(shape, util.sizeFromShape(x.shape));
  if (util.sizeFromShape(s) !== util.sizeFromShape(x.shape)) {
    throw new Error(`cannot reshape a tensor of shape [${x.shape}] into [${shape}]`);
  }
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: s, dtype: x.dtype };
}

/** `x` converted to `dtype` (a new reference to `x` when it already has it). */
export function castInfo(b: CudaBackend, x: TensorInfo, dtype: DataType): TensorInfo {
  if (x.dtype === dtype) {
    b.incRef(x.dataId);
    return { ...x };
  }
  const y = b.makeOutput(x.shape, dtype);
  b.native.cast({ dtIn: dtypeCode(x.dtype), dtOut: dtypeCode(dtype), x: b.ptr(x), y: b.ptr(y), n: sizeOf(x.shape) });
  return y;
}

/** Releases kernel intermediates. */
export function release(b: CudaBackend, ...ts: (TensorInfo | undefined)[]): void {
  for (const t of ts) if (t) b.disposeIntermediateTensorInfo(t);
}

function isPlain(d: CopyDesc, k: number): boolean {
  return d.begin[k] === 0 && d.step[k] === 1 && d.mod[k] === 0 && d.limit[k] === d.shape[k];
}

/**
 * Runs a strided copy of `x` into a new tensor of shape `desc.shape` (see {@link CopyDesc}).
 * Plain contiguous copies become one memcpy; last-two-dims transposes use the tiled kernel.
 */
export function runCopy(b: CudaBackend, x: TensorInfo, desc: CopyDesc, pad = 0, outShape: number[] = desc.shape): TensorInfo {
  const y = b.makeOutput(outShape, x.dtype);
  const n = sizeOf(desc.shape);
  if (n === 0) return y;
  const d = normalizeCopy(desc);
  const elem = dtypeBytes(x.dtype);
  const xp = b.ptr(x) + d.offset * elem;
  const yp = b.ptr(y);
  const rank = d.shape.length;
  const allPlain = d.shape.every((_, k) => isPlain(d, k));
  if (allPlain && (rank === 0 || (rank === 1 && d.stride[0] === 1))) {
    b.native.copyDevice({ src: xp, dst: yp, bytes: n * elem });
    return y;
  }
  if (allPlain && (rank === 2 || rank === 3)) {
    const [bs, c, r] = rank === 3 ? d.shape : [1, ...d.shape];
    const [sb, sc, sr] = rank === 3 ? d.stride : [r * c, ...d.stride];
    if (sc === 1 && sr === c && sb === r * c) {
      b.native.transpose2d({ dt: dtypeCode(x.dtype), x: xp, y: yp, batch: bs, rows: r, cols: c });
      return y;
    }
  }
  if (rank > b.addon.maxDims) throw new Error(`strided copy: ${rank} dimensions after merging (the CUDA kernels take at most ${b.addon.maxDims})`);
  b.native.copy({ dt: dtypeCode(x.dtype), x: xp, y: yp, n, pad, shape: d.shape, begin: d.begin, step: d.step, mod: d.mod, limit: d.limit, stride: d.stride });
  return y;
}

/** `x` with its dims permuted (`perm[k]` is the input dim of output dim k). */
export function transposeInfo(b: CudaBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runCopy(b, x, transposeDesc(x.shape, perm));
}

/** Normalises an axis list (negative axes, a single number, undefined for all). */
export function axesOf(axis: unknown, rank: number): number[] {
  if (axis == null) return [...Array(rank).keys()];
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => {
    if (a < -rank || a >= Math.max(rank, 1)) throw new Error(`axis ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
}

// A host-memory emulation of the @falcon/tensor CUDA addon (the `CudaAddon` interface), written
// from the semantics of csrc/*.cu: same op lists, same caching-allocator rounding and counters,
// same kernel arithmetic (float32 rounding, int32 wrap-around, NaN rules). It lets the cuda
// backend's TypeScript layer (storage, refcounts, shapes, strides, dtypes, kernels' use of the
// addon, the self-test) run on machines without a GPU; the device runner checks the real addon.
// Its kernels follow the named native-call contract as the C++ bindings do: they export the
// signatures of `tensorNative` and read every call through `unpacker` (the TypeScript mirror of
// the C++ `falcon::ext::unpack`), so a malformed call fails here as it would on the device.
import type { AllocatorStats, CudaAddon, TensorNative } from '../backends/cuda/addon.js';
import { tensorNative } from '../backends/cuda/addon.js';
import { bf16ToF32, f32ToBf16 } from '../dtype.js';
import { emulateNative } from './native_contract.js';

const UNARY = ['Neg', 'Abs', 'Sign', 'Square', 'Sqrt', 'Rsqrt', 'Exp', 'Expm1', 'Log', 'Log1p', 'Sigmoid', 'Softplus', 'Tanh', 'Relu', 'Relu6', 'Elu', 'Selu', 'Erf', 'Round', 'Floor', 'Ceil', 'Reciprocal', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'ClipByValue', 'Step', 'LeakyRelu', 'IsNan', 'IsInf', 'IsFinite', 'LogicalNot'];
const BINARY = ['Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Mod', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'Atan2', 'Prelu', 'EluGrad', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor'];
const REDUCE = ['Sum', 'Prod', 'Max', 'Min', 'All', 'Any'];
const F32 = 0,
  I32 = 1;
const SLOT = 2 ** 32;
const f = Math.fround;

function roundBlockSize(bytes: number): number {
  if (bytes === 0) return 0;
  const small = 1 << 20;
  if (bytes <= small) return Math.ceil(bytes / 512) * 512;
  let p = small;
  while (p < bytes) p *= 2;
  const step = p / 8;
  return Math.ceil(bytes / step) * step;
}

function erf(x: number): number {
  // Maclaurin series for |x| < 2.5, the continued fraction of erfc beyond (float64 throughout).
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t,
      term = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  let cf = 0;
  for (let n = 60; n >= 1; n--) cf = n / 2 / (t + cf);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + cf));
}

function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

function unaryF(op: string, x: number, p0: number, p1: number): number {
  switch (op) {
    case 'Neg': return -x;
    case 'Abs': return Math.abs(x);
    case 'Sign': return x > 0 ? 1 : x < 0 ? -1 : 0;
    case 'Square': return x * x;
    case 'Sqrt': return Math.sqrt(x);
    case 'Rsqrt': return 1 / Math.sqrt(x);
    case 'Exp': return Math.exp(x);
    case 'Expm1': return Math.expm1(x);
    case 'Log': return Math.log(x);
    case 'Log1p': return Math.log1p(x);
    case 'Sigmoid': return 1 / (1 + Math.exp(-x));
    case 'Softplus': return x > 20 ? x : x < -20 ? Math.exp(x) : Math.log1p(Math.exp(x));
    case 'Tanh': return Math.tanh(x);
    case 'Relu': return x < 0 ? 0 : x;
    case 'Relu6': return x < 0 ? 0 : x > 6 ? 6 : x;
    case 'Elu': return x >= 0 ? x : Math.expm1(x);
    case 'Selu': return x >= 0 ? 1.0507009873554805 * x : 1.7580993408473766 * Math.expm1(x);
    case 'Erf': return erf(x);
    case 'Round': return rint(x);
    case 'Floor': return Math.floor(x);
    case 'Ceil': return Math.ceil(x);
    case 'Reciprocal': return 1 / x;
    case 'Sin': return Math.sin(x);
    case 'Cos': return Math.cos(x);
    case 'Tan': return Math.tan(x);
    case 'Asin': return Math.asin(x);
    case 'Acos': return Math.acos(x);
    case 'Atan': return Math.atan(x);
    case 'Sinh': return Math.sinh(x);
    case 'Cosh': return Math.cosh(x);
    case 'Asinh': return Math.asinh(x);
    case 'Acosh': return Math.acosh(x);
    case 'Atanh': return Math.atanh(x);
    case 'ClipByValue': return x > p1 ? p1 : x < p0 ? p0 : x;
    case 'Step': return Number.isNaN(x) ? x : x > 0 ? 1 : p0;
    case 'LeakyRelu': return x < 0 ? p0 * x : x;
    case 'IsNan': return Number.isNaN(x) ? 1 : 0;
    case 'IsInf': return Math.abs(x) === Infinity ? 1 : 0;
    case 'IsFinite': return Number.isFinite(x) ? 1 : 0;
    case 'LogicalNot': return x === 0 ? 1 : 0;
    default: return NaN;
  }
}

function unaryI(op: string, x: number, p0: number, p1: number): number {
  switch (op) {
    case 'Neg': return -x | 0;
    case 'Abs': return Math.abs(x) | 0;
    case 'Sign': return Math.sign(x);
    case 'Square': return Math.imul(x, x);
    case 'Relu': return x < 0 ? 0 : x;
    case 'ClipByValue': return x > (p1 | 0) ? p1 | 0 : x < (p0 | 0) ? p0 | 0 : x;
    default: return toInt32(f(unaryF(op, x, p0, p1)));
  }
}

function toInt32(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(x))));
}

function binaryF(op: string, a: number, b: number): number {
  switch (op) {
    case 'Add': return a + b;
    case 'Sub': return a - b;
    case 'Multiply': return a * b;
    case 'RealDiv': return a / b;
    case 'FloorDiv': return Math.floor(f(a / b));
    case 'Mod': {
      const r = a % b;
      return r !== 0 && r < 0 !== b < 0 ? r + b : r;
    }
    case 'Maximum': return Math.max(a, b);
    case 'Minimum': return Math.min(a, b);
    case 'Pow': return Math.pow(a, b);
    case 'SquaredDifference': return f(a - b) * f(a - b);
    case 'Atan2': return Math.atan2(a, b);
    case 'Prelu': return a < 0 ? a * b : a;
    case 'EluGrad': return b >= 0 ? a : a * f(b + 1);
    default: return NaN;
  }
}

function binaryI(op: string, a: number, b: number): number {
  switch (op) {
    case 'Add': return (a + b) | 0;
    case 'Sub': return (a - b) | 0;
    case 'Multiply': return Math.imul(a, b);
    case 'RealDiv': return b === 0 ? 0 : Math.trunc(a / b) | 0;
    case 'FloorDiv': return b === 0 ? 0 : Math.floor(a / b) | 0;
    case 'Mod': {
      if (b === 0) return 0;
      const r = a % b;
      return r !== 0 && r < 0 !== b < 0 ? r + b : r;
    }
    case 'Maximum': return Math.max(a, b);
    case 'Minimum': return Math.min(a, b);
    case 'Pow': {
      if (b < 0) return toInt32(f(Math.pow(a, b)));
      let r = 1,
        base = a;
      for (let e = b; e > 0; e >>= 1) {
        if (e & 1) r = Math.imul(r, base);
        base = Math.imul(base, base);
      }
      return r;
    }
    case 'SquaredDifference': return Math.imul(a - b, a - b);
    case 'Prelu': return a < 0 ? Math.imul(a, b) : a;
    default: return 0;
  }
}

function compare(op: string, a: number, b: number): number {
  switch (op) {
    case 'Less': return a < b ? 1 : 0;
    case 'LessEqual': return a <= b ? 1 : 0;
    case 'Greater': return a > b ? 1 : 0;
    case 'GreaterEqual': return a >= b ? 1 : 0;
    case 'Equal': return a === b ? 1 : 0;
    case 'NotEqual': return a !== b ? 1 : 0;
    case 'LogicalAnd': return a !== 0 && b !== 0 ? 1 : 0;
    case 'LogicalOr': return a !== 0 || b !== 0 ? 1 : 0;
    case 'LogicalXor': return (a !== 0) !== (b !== 0) ? 1 : 0;
    default: return 0;
  }
}

/** Creates an emulated addon (host memory, synchronous kernels). */
export function createEmulatedCudaAddon(): CudaAddon {
  const blocks = new Map<number, ArrayBuffer>();
  const sizes = new Map<number, { size: number; requested: number }>();
  const free = new Map<number, number[]>();
  let nextId = 1;
  const stats: AllocatorStats = { inUse: 0, requested: 0, cached: 0, peakInUse: 0, liveBlocks: 0, cachedBlocks: 0, driverAllocs: 0, driverFrees: 0, cacheHits: 0, oomRetries: 0 };
  const events = new Map<number, number>();
  let nextEvent = 1;

  const bytesAt = (ptr: number, n: number): Uint8Array => {
    const id = Math.floor(ptr / SLOT);
    const off = ptr - id * SLOT;
    const buf = blocks.get(id);
    if (!buf) throw new Error(`emulated addon: pointer ${ptr} is not in a live block`);
    if (off + n > buf.byteLength) throw new Error(`emulated addon: access of ${n} bytes at offset ${off} overflows a ${buf.byteLength}-byte block`);
    return new Uint8Array(buf, off, n);
  };
  const view = (dt: number, ptr: number, n: number): Float32Array | Int32Array | Uint8Array => {
    if (n === 0) return dt === F32 ? new Float32Array(0) : dt === I32 ? new Int32Array(0) : new Uint8Array(0);
    const b = bytesAt(ptr, n * (dt === 2 ? 1 : 4));
    if (dt === F32) return new Float32Array(b.buffer, b.byteOffset, n);
    if (dt === I32) return new Int32Array(b.buffer, b.byteOffset, n);
    return b;
  };
  /** A view of `ptr`'s whole block and the element index of `ptr` in it (for strided reads). */
  const whole = (dt: number, ptr: number): [Float32Array | Int32Array | Uint8Array, number] => {
    const id = Math.floor(ptr / SLOT);
    const buf = blocks.get(id);
    if (!buf) throw new Error(`emulated addon: pointer ${ptr} is not in a live block`);
    const es = dt === 2 ? 1 : 4;
    const v = dt === F32 ? new Float32Array(buf) : dt === I32 ? new Int32Array(buf) : new Uint8Array(buf);
    return [v, (ptr - id * SLOT) / es];
  };
  const offsets = (i: number, shape: readonly number[], strides: (readonly number[])[]): number[] => {
    const off = strides.map(() => 0);
    for (let k = shape.length - 1; k >= 0; k--) {
      const c = i % shape[k];
      i = Math.floor(i / shape[k]);
      strides.forEach((s, j) => (off[j] += c * s[k]));
    }
    return off;
  };
  const maxExtent = (n: number, shape: readonly number[], strides: readonly number[]) => {
    // Elements an operand spans given its strides (for bounds of the views).
    if (n === 0) return 0;
    let hi = 0;
    shape.forEach((d, k) => (hi += (d - 1) * Math.max(0, strides[k])));
    return hi + 1;
  };

  const runtime: Omit<CudaAddon, 'falconSignatures' | 'unaryOps' | 'binaryOps' | 'reduceOps' | 'maxDims'> = {
    probe: () => ({ driverVersion: 13000, runtimeVersion: 13000, deviceCount: 1, devices: [{ index: 0, name: 'emulated (host memory)', computeCapability: '0.0', totalMemory: 0, multiprocessors: 1 }], cublasLt: { loaded: true, path: 'emulated', version: 0 } }),
    init: (device) => ({ device, name: 'emulated (host memory)' }),
    stream: () => 0,
    alloc(bytes) {
      if (bytes === 0) return 0;
      const size = roundBlockSize(bytes);
      let id = free.get(size)?.pop();
      if (id !== undefined) {
        stats.cached -= size;
        stats.cachedBlocks--;
        stats.cacheHits++;
      } else {
        id = nextId++;
        blocks.set(id, new ArrayBuffer(size));
        stats.driverAllocs++;
      }
      sizes.set(id, { size, requested: bytes });
      stats.inUse += size;
      stats.requested += bytes;
      stats.liveBlocks++;
      stats.peakInUse = Math.max(stats.peakInUse, stats.inUse);
      return id * SLOT;
    },
    free(ptr) {
      if (ptr === 0) return;
      const id = ptr / SLOT;
      const s = sizes.get(id);
      if (!s) throw new Error('emulated addon: free of a pointer the allocator did not hand out');
      sizes.delete(id);
      stats.inUse -= s.size;
      stats.requested -= s.requested;
      stats.liveBlocks--;
      if (!free.has(s.size)) free.set(s.size, []);
      free.get(s.size)!.push(id);
      stats.cached += s.size;
      stats.cachedBlocks++;
    },
    memoryStats: () => ({ device: { ...stats }, pinned: { ...stats, inUse: 0, cached: 0 }, workspace: 32 << 20 }),
    resetPeakMemory() {
      stats.peakInUse = stats.inUse;
    },
    emptyCache() {
      for (const ids of free.values()) for (const id of ids) {
        blocks.delete(id);
        stats.driverFrees++;
      }
      free.clear();
      stats.cached = 0;
      stats.cachedBlocks = 0;
    },
    upload(ptr, data) {
      if (data.byteLength) bytesAt(ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    download(ptr, data) {
      if (data.byteLength) new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytesAt(ptr, data.byteLength));
    },
    downloadAsync(ptr, bytes) {
      const copy = bytes ? bytesAt(ptr, bytes).slice().buffer : new ArrayBuffer(0);
      return new Promise((resolve) => setImmediate(() => resolve(copy)));
    },
    synchronize() {},
    eventRecord() {
      events.set(nextEvent, performance.now());
      return nextEvent++;
    },
    eventElapsed(a, b) {
      const ms = (events.get(b) ?? 0) - (events.get(a) ?? 0);
      events.delete(a);
      events.delete(b);
      return Math.max(ms, 1e-6);
    },
  };

  // The kernels, with the named parameters of their declarations (tensorNative).
  const kernels: TensorNative = {
    copyDevice({ src, dst, bytes }) {
      if (bytes) bytesAt(dst, bytes).set(bytesAt(src, bytes).slice());
    },
    copy2d({ src, srcPitch, dst, dstPitch, widthBytes: width, rows }) {
      for (let r = 0; r < rows; r++) bytesAt(dst + r * dstPitch, width).set(bytesAt(src + r * srcPitch, width));
    },
    unary({ op, dtIn, dtOut, x, y, n, p0, p1 }) {
      const name = UNARY[op];
      const xv = view(dtIn, x, n),
        yv = view(dtOut, y, n);
      const pred = ['IsNan', 'IsInf', 'IsFinite', 'LogicalNot'].includes(name);
      for (let i = 0; i < n; i++) {
        const v = xv[i];
        if (dtIn === 2 && dtOut === 2) yv[i] = name === 'LogicalNot' ? (v ? 0 : 1) : v;
        else if (dtOut === 2) yv[i] = pred ? unaryF(name, v, p0, p1) : 0;
        else if (dtIn === I32 && dtOut === I32) yv[i] = unaryI(name, v, f(p0), f(p1));
        else yv[i] = unaryF(name, v, f(p0), f(p1));
      }
    },
    binary({ op, dtIn, dtOut, a, b, y, n, mode, shape, strideA: sa, strideB: sb }) {
      const name = BINARY[op];
      const span = (s: readonly number[]) => (mode ? maxExtent(n, shape, s) : n);
      const av = view(dtIn, a, span(sa)),
        bv = view(dtIn, b, span(sb)),
        yv = view(dtOut, y, n);
      for (let i = 0; i < n; i++) {
        const [oa, ob] = mode ? offsets(i, shape, [sa, sb]) : [i, i];
        const va = av[oa],
          vb = bv[ob];
        if (dtOut === 2) yv[i] = compare(name, va, vb);
        else if (dtIn === I32 && dtOut === I32) yv[i] = binaryI(name, va, vb);
        else yv[i] = binaryF(name, va, vb);
      }
    },
    select({ dt, cond: c, t, e, y, n, mode, shape, strideCond: sc, strideT: st, strideE: se }) {
      const span = (s: readonly number[]) => (mode ? maxExtent(n, shape, s) : n);
      const cv = view(2, c, span(sc)),
        tv = view(dt, t, span(st)),
        ev = view(dt, e, span(se)),
        yv = view(dt, y, n);
      for (let i = 0; i < n; i++) {
        const [oc, ot, oe] = mode ? offsets(i, shape, [sc, st, se]) : [i, i, i];
        yv[i] = cv[oc] ? tv[ot] : ev[oe];
      }
    },
    cast({ dtIn, dtOut, x, y, n }) {
      const xv = view(dtIn, x, n),
        yv = view(dtOut, y, n);
      for (let i = 0; i < n; i++) {
        const v = xv[i];
        yv[i] = dtOut === 2 ? (v !== 0 ? 1 : 0) : dtOut === I32 && dtIn === F32 ? toInt32(v) : v;
      }
    },
    fill({ dt, y, n, value }) {
      view(dt, y, n).fill(dt === 2 ? (value !== 0 ? 1 : 0) : dt === I32 ? value | 0 : value);
    },
    range({ dt, y, n, start, step }) {
      const yv = view(dt, y, n);
      for (let i = 0; i < n; i++) yv[i] = dt === I32 ? Math.trunc(start + i * step) : start + i * step;
    },
    copy({ dt, x, y, n, pad, shape, begin, step, mod, limit, stride }) {
      const yv = view(dt, y, n);
      const [xv, base] = whole(dt, x);
      const padV = dt === 2 ? (pad !== 0 ? 1 : 0) : dt === I32 ? pad | 0 : pad;
      for (let i = 0; i < n; i++) {
        let rem = i,
          off = 0,
          inside = true;
        for (let k = shape.length - 1; k >= 0; k--) {
          const c = rem % shape[k];
          rem = Math.floor(rem / shape[k]);
          let ic = begin[k] + c * step[k];
          if (mod[k] > 0) ic = ((ic % mod[k]) + mod[k]) % mod[k];
          if (ic < 0 || ic >= limit[k]) inside = false;
          off += ic * stride[k];
        }
        if (inside && (base + off < 0 || base + off >= xv.length)) throw new Error(`emulated addon: copy reads element ${off} outside its block`);
        yv[i] = inside ? xv[base + off] : padV;
      }
    },
    transpose2d({ dt, x, y, batch, rows, cols }) {
      const xv = view(dt, x, batch * rows * cols),
        yv = view(dt, y, batch * rows * cols);
      for (let b = 0; b < batch; b++) for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) yv[b * rows * cols + c * rows + r] = xv[b * rows * cols + r * cols + c];
    },
    gather({ dt, x, idx, y, batch, outer, dim, slice, nIdx }) {
      const xv = view(dt, x, batch * outer * dim * slice),
        iv = view(I32, idx, batch * nIdx),
        yv = view(dt, y, batch * outer * nIdx * slice);
      for (let i = 0; i < yv.length; i++) {
        const s = i % slice;
        let t = Math.floor(i / slice);
        const j = t % nIdx;
        t = Math.floor(t / nIdx);
        const o = t % outer,
          b = Math.floor(t / outer);
        const k = iv[b * nIdx + j];
        yv[i] = k >= 0 && k < dim ? xv[((b * outer + o) * dim + k) * slice + s] : 0;
      }
    },
    segmentSum({ dt, x, seg, y, rows, slice, numSegments }) {
      const xv = view(dt, x, rows * slice),
        sv = view(I32, seg, rows),
        yv = view(dt, y, numSegments * slice);
      yv.fill(0);
      for (let i = 0; i < rows * slice; i++) {
        const k = sv[Math.floor(i / slice)];
        if (k >= 0 && k < numSegments) yv[k * slice + (i % slice)] += xv[i];
      }
    },
    oneHot({ dt, idx, y, n, depth, on, off }) {
      const iv = view(I32, idx, n),
        yv = view(dt, y, n * depth);
      for (let i = 0; i < n * depth; i++) yv[i] = iv[Math.floor(i / depth)] === i % depth ? on : off;
    },
    reduce({ op, dt, x, y, outer, r, inner }) {
      const name = REDUCE[op];
      const xv = view(dt, x, outer * r * inner),
        yv = view(dt, y, outer * inner);
      const init = name === 'Prod' || name === 'All' ? 1 : name === 'Max' ? (dt === I32 ? -(2 ** 31) : dt === 2 ? 0 : -Infinity) : name === 'Min' ? (dt === I32 ? 2 ** 31 - 1 : dt === 2 ? 1 : Infinity) : 0;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = init;
          for (let k = 0; k < r; k++) {
            const v = xv[(o * r + k) * inner + i];
            if (name === 'Sum') acc = dt === F32 ? f(acc + v) : (acc + v) | 0;
            else if (name === 'Prod') acc = dt === F32 ? f(acc * v) : Math.imul(acc, v);
            else if (name === 'Max') acc = Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.max(acc, v);
            else if (name === 'Min') acc = Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.min(acc, v);
            else if (name === 'All') acc = acc && v ? 1 : 0;
            else acc = acc || v ? 1 : 0;
          }
          yv[o * inner + i] = acc;
        }
      }
    },
    argReduce({ isMax, dt, x, y, outer, r, inner }) {
      const xv = view(dt, x, outer * r * inner),
        yv = view(I32, y, outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let best = xv[o * r * inner + i],
            bi = 0;
          for (let k = 1; k < r; k++) {
            const v = xv[(o * r + k) * inner + i];
            if (isMax ? v > best : v < best) {
              best = v;
              bi = k;
            }
          }
          yv[o * inner + i] = bi;
        }
      }
    },
    cumulative({ isProd, dt, x, y, outer, r, inner, exclusive, reverse }) {
      const xv = view(dt, x, outer * r * inner),
        yv = view(dt, y, outer * r * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = isProd ? 1 : 0;
          for (let j = 0; j < r; j++) {
            const k = reverse ? r - 1 - j : j;
            const at = (o * r + k) * inner + i;
            const v = xv[at];
            const next = dt === F32 ? f(isProd ? acc * v : acc + v) : isProd ? Math.imul(acc, v) : (acc + v) | 0;
            yv[at] = exclusive ? acc : next;
            acc = next;
          }
        }
      }
    },
    softmax({ x, y, rows, cols, log }) {
      const xv = view(F32, x, rows * cols),
        yv = view(F32, y, rows * cols);
      for (let r = 0; r < rows; r++) {
        let m = -Infinity,
          s = 0;
        for (let c = 0; c < cols; c++) m = Math.max(m, xv[r * cols + c]);
        for (let c = 0; c < cols; c++) s += Math.exp(xv[r * cols + c] - m);
        for (let c = 0; c < cols; c++) yv[r * cols + c] = log ? xv[r * cols + c] - m - Math.log(s) : Math.exp(xv[r * cols + c] - m) / s;
      }
    },
    adamwStep({ p, g, m, v, scale, pOut, mOut, vOut, n, b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay }) {
      const [pv, gv, mv, vv, po, mo, vo] = [p, g, m, v, pOut, mOut, vOut].map((q) => view(F32, q, n));
      const s = scale ? view(F32, scale, 1)[0] : 1;
      const [B1, OMB1, B2, OMB2, BC1, BC2, EPS, LR, DECAY] = [b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay].map(f);
      for (let i = 0; i < n; i++) {
        const gi = scale ? f(gv[i] * s) : gv[i];
        const mi = f(f(mv[i] * B1) + f(gi * OMB1));
        const vi = f(f(vv[i] * B2) + f(f(gi * gi) * OMB2));
        const update = f(f(mi / BC1) / f(f(Math.sqrt(f(vi / BC2))) + EPS));
        po[i] = f((DECAY !== 1 ? f(pv[i] * DECAY) : pv[i]) - f(update * LR));
        mo[i] = mi;
        vo[i] = vi;
      }
    },
    rmsNorm({ x, w, y, rows, dim, groups, eps }) {
      const xv = view(F32, x, rows * dim),
        wv = view(F32, w, groups * dim),
        yv = view(F32, y, rows * dim);
      for (let r = 0; r < rows; r++) {
        let ss = 0;
        for (let j = 0; j < dim; j++) ss += xv[r * dim + j] ** 2;
        const inv = 1 / Math.sqrt(ss / dim + eps);
        for (let j = 0; j < dim; j++) yv[r * dim + j] = wv[(r % groups) * dim + j] * (xv[r * dim + j] * inv);
      }
    },
    rmsNormBackward({ dy, x, w, dx, dw, rows, dim, groups, eps }) {
      const xv = view(F32, x, rows * dim),
        dyv = view(F32, dy, rows * dim),
        wv = view(F32, w, groups * dim),
        dxv = view(F32, dx, rows * dim),
        dwv = view(F32, dw, groups * dim);
      const acc = new Float64Array(groups * dim);
      for (let r = 0; r < rows; r++) {
        const o = (r % groups) * dim;
        let ss = 0,
          gx = 0;
        for (let j = 0; j < dim; j++) {
          ss += xv[r * dim + j] ** 2;
          gx += wv[o + j] * dyv[r * dim + j] * xv[r * dim + j];
        }
        const inv = 1 / Math.sqrt(ss / dim + eps);
        const c = (inv ** 3 * gx) / dim;
        for (let j = 0; j < dim; j++) {
          dxv[r * dim + j] = inv * wv[o + j] * dyv[r * dim + j] - xv[r * dim + j] * c;
          acc[o + j] += dyv[r * dim + j] * xv[r * dim + j] * inv;
        }
      }
      dwv.set(acc);
    },
    matmul({ a, b, c, m, n, k, batch, strideA, strideB, transA, transB, precision }) {
      // precision 0 (f32) and 1 (tf32) are both exact here; 2 (bf16) rounds both operands to bf16
      // (nearest even) first, as csrc/bf16_cast.cu does, and accumulates in float64.
      if (precision !== 0 && precision !== 1 && precision !== 2) throw new Error(`matmul: precision must be 0 (f32), 1 (tf32) or 2 (bf16), got ${precision}`);
      const bf16 = (x: Float32Array) => (precision === 2 ? bf16ToF32(f32ToBf16(x)) : x);
      const av = bf16(view(F32, a, strideA ? batch * m * k : m * k) as Float32Array),
        bv = bf16(view(F32, b, strideB ? batch * k * n : k * n) as Float32Array),
        cv = view(F32, c, batch * m * n);
      for (let q = 0; q < batch; q++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) {
              const x = av[q * strideA + (transA ? p * m + i : i * k + p)];
              const w = bv[q * strideB + (transB ? j * k + p : p * n + j)];
              s += x * w;
            }
            cv[q * m * n + i * n + j] = s;
          }
        }
      }
    },
  };
  return { ...runtime, ...emulateNative('the emulated CUDA addon', tensorNative, kernels), unaryOps: UNARY, binaryOps: BINARY, reduceOps: REDUCE, maxDims: 8 };
}

/**
 * What the WebGPU attention kernels (flash forward, flash backward, decode) share: the uniforms of
 * an attention problem, the WGSL that encodes causal / sliding-window / packed-sequence masking as
 * per-query key ranges (and per-key query ranges for the backward), tile sizes that fit workgroup
 * memory, the packing of the small optional inputs (ALiBi slopes, cuSeqlens, key mask) into one
 * buffer (WebGPU guarantees only 8 storage buffers per shader), and copy programs that split a
 * combined result into the op's outputs.
 */
import type { TensorInfo, WebgpuProgram, WgslUniform } from '@falcon/tensor';
import type { AttentionAttrs } from '../../attention_attrs.js';

/** Shapes and attributes of an attention problem on the GPU. */
export interface GpuAttentionProblem extends AttentionAttrs {
  /** `batch` */
  batch: number;
  /** Queries `seqlen`. */
  seqlenQ: number;
  /** Keys that take part (the decode length). */
  seqlenK: number;
  /** Rows per batch entry of k/v and the mask (seqlenK or the cache capacity). */
  kvRows: number;
  /** `nHeads` */
  nHeads: number;
  /** `nKvHeads` */
  nKvHeads: number;
  /** `headDim` */
  headDim: number;
  /** Entries of cuSeqlens (0 when absent). */
  nCu: number;
}

/** The optional inputs of an attention kernel. */
export interface GpuAttentionExtras {
  /** `[nHeads]` */
  alibiSlopes?: TensorInfo;
  /** `[batch, kvRows]` (float32, int32 or bool) */
  keyPaddingMask?: TensorInfo;
  /** `[nCu]` int32 */
  cuSeqlens?: TensorInfo;
}

/** The packed optional inputs: `extras = [slopes, f32(cuSeqlens), f32(mask)]` and where each starts. */
export interface GpuMeta {
  /** The packed buffer, absent when there is nothing to pack. */
  meta?: TensorInfo;
  /** Offsets of the parts (uniforms cuOff and maskOff). */
  uniforms: Record<string, WgslUniform>;
  /** Which parts are present: alibi, mask, cu. */
  flags: readonly [boolean, boolean, boolean];
}

/**
 * Pack the optional inputs into one float32 buffer with a small program (cuSeqlens ≤ 2²⁴ and the
 * 0/1 mask are exact in float32).
 */
export function packMeta(run: (p: WebgpuProgram) => TensorInfo, x: GpuAttentionExtras): GpuMeta {
  const nSlopes = x.alibiSlopes ? x.alibiSlopes.shape[0] : 0;
  const nCu = x.cuSeqlens ? x.cuSeqlens.shape[0] : 0;
  const nMask = x.keyPaddingMask ? x.keyPaddingMask.shape.reduce((a, b) => a * b, 1) : 0;
  const flags = [!!x.alibiSlopes, !!x.keyPaddingMask, !!x.cuSeqlens] as const;
  const uniforms: Record<string, WgslUniform> = { cuOff: { type: 'i32', value: nSlopes }, maskOff: { type: 'i32', value: nSlopes + nCu } };
  const total = nSlopes + nCu + nMask;
  if (total === 0) return { uniforms, flags };
  const inputs: Record<string, TensorInfo> = {};
  if (x.alibiSlopes) inputs.alibiSlopes = x.alibiSlopes;
  if (x.cuSeqlens) inputs.cuSeqlens = x.cuSeqlens;
  if (x.keyPaddingMask) inputs.keyPaddingMask = { ...x.keyPaddingMask, shape: [nMask] };
  const parts = [
    x.alibiSlopes ? `if (index < uniforms.cuOff) { setOutputAtIndex(index, alibiSlopes[index]); return; }` : '',
    x.cuSeqlens ? `if (index < uniforms.maskOff) { setOutputAtIndex(index, f32(cuSeqlens[index - uniforms.cuOff])); return; }` : '',
    x.keyPaddingMask ? `setOutputAtIndex(index, select(1.0, 0.0, f32(keyPaddingMask[index - uniforms.maskOff]) == 0.0));` : '',
  ];
  const meta = run({
    name: 'FalconAttentionMeta',
    inputs,
    outputShape: [total],
    dispatch: Math.ceil(total / 64),
    uniforms,
    shader: /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    ${parts.join('\n    ')}
  }
}`,
    cacheKey: flags.map(Number).join(''),
  });
  return { meta, uniforms, flags };
}

/** WGSL accessors of the packed optional inputs (`extras`; `meta` is a WGSL reserved word). */
export const META_WGSL = /* wgsl */ `
fn slopeAt(h: i32) -> f32 { return extras[h]; }
fn cuAt(s: i32) -> i32 { return i32(extras[uniforms.cuOff + s]); }
fn keptAt(b: i32, j: i32) -> bool { return extras[uniforms.maskOff + b * uniforms.kvRows + j] != 0.0; }`;

/** Threads per workgroup of the attention kernels: one query (or key) row each. */
export const WG_ROWS = 64;

/** Rows of the tile staged in workgroup memory: two `[tile, headDim]` float32 tiles within 16 KiB. */
export function tileRows(headDim: number): number {
  let t = 64;
  while (t > 1 && 2 * t * headDim * 4 > 16384) t /= 2;
  return t;
}

/** The uniforms every attention program declares. */
export function attentionUniforms(p: GpuAttentionProblem): Record<string, WgslUniform> {
  return {
    nb: { type: 'i32', value: p.batch },
    lq: { type: 'i32', value: p.seqlenQ },
    lk: { type: 'i32', value: p.seqlenK },
    kvRows: { type: 'i32', value: p.kvRows },
    nh: { type: 'i32', value: p.nHeads },
    nkv: { type: 'i32', value: p.nKvHeads },
    scale: { type: 'f32', value: p.scale },
    causal: { type: 'i32', value: p.causal ? 1 : 0 },
    wl: { type: 'i32', value: p.windowLeft },
    wr: { type: 'i32', value: p.windowRight },
    nCu: { type: 'i32', value: p.nCu },
  };
}

/**
 * WGSL: `segOf(t)` (the packed sequence of position t), `rowRange(i)` (keys query i sees, as
 * [lo, hi]; empty when lo > hi) and `colRange(j)` (queries that see key j). Both bounds are
 * non-decreasing in i (in j), so a tile's union is [range(first).x, range(last).y].
 */
export function rangeWgsl(hasCu: boolean): string {
  const seg = hasCu
    ? /* wgsl */ `
fn segOf(t: i32) -> i32 {
  var lo = 0;
  var hi = uniforms.nCu - 2;
  while (lo < hi) {
    let mid = (lo + hi + 1) / 2;
    if (cuAt(mid) <= t) { lo = mid; } else { hi = mid - 1; }
  }
  return lo;
}`
    : '';
  const rowSeg = hasCu ? `let s = segOf(i); a = max(a, cuAt(s)); z = min(z, cuAt(s + 1) - 1);` : '';
  const colSeg = hasCu ? `let s = segOf(j); a = max(a, cuAt(s)); z = min(z, cuAt(s + 1) - 1);` : '';
  return /* wgsl */ `${seg}
fn rowRange(i: i32) -> vec2<i32> {
  let pos = i + uniforms.lk - uniforms.lq;
  var a = 0;
  var z = uniforms.lk - 1;
  if (uniforms.causal != 0) { z = min(z, pos); }
  if (uniforms.wl >= 0) { a = max(a, pos - uniforms.wl); }
  if (uniforms.wr >= 0) { z = min(z, pos + uniforms.wr); }
  ${rowSeg}
  return vec2<i32>(a, z);
}

fn colRange(j: i32) -> vec2<i32> {
  let shift = uniforms.lk - uniforms.lq;
  var a = 0;
  var z = uniforms.lq - 1;
  if (uniforms.causal != 0) { a = max(a, j - shift); }
  if (uniforms.wl >= 0) { z = min(z, j + uniforms.wl - shift); }
  if (uniforms.wr >= 0) { a = max(a, j - uniforms.wr - shift); }
  ${colSeg}
  return vec2<i32>(a, z);
}`;
}

/**
 * A program copying a strided slice of `src` (rows of `stride` floats, `width` of them from
 * `offset`, with the row order permuted by `perm`) into a dense output. Used to split combined
 * results: `out[r, w] = src[map(r) * stride + offset + w]`.
 *
 * @param rowOf - WGSL expression of the source row for output row `r` (uses the uniforms d1, d2, d3)
 */
export function sliceProgram(
  name: string,
  src: TensorInfo,
  outputShape: number[],
  width: number,
  stride: number,
  offset: number,
  rowOf: string,
  dims: [number, number, number],
): WebgpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    name,
    inputs: { src: { ...src, shape: [src.shape.reduce((a, b) => a * b, 1)] } },
    outputShape,
    dispatch: Math.max(1, Math.ceil(size / 64)),
    uniforms: {
      width: { type: 'i32', value: width },
      stride: { type: 'i32', value: stride },
      offset: { type: 'i32', value: offset },
      d1: { type: 'i32', value: dims[0] },
      d2: { type: 'i32', value: dims[1] },
      d3: { type: 'i32', value: dims[2] },
    },
    shader: /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let r = index / uniforms.width;
    let w = index % uniforms.width;
    let row = ${rowOf};
    setOutputAtIndex(index, src[row * uniforms.stride + uniforms.offset + w]);
  }
}`,
    cacheKey: rowOf,
  };
}

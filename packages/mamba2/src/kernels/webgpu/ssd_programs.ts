/**
 * The WGSL programs of the SSD chunked form on WebGPU, shared by the forward scan, the decode step
 * and the backward. Every program is a flat launch with one invocation per output element:
 * - `ts` `[batch, seqlen, nheads, 4]`: Δ (dt + dtBias, softplus, clamp), `a = Δ·A`, `cum` (the
 *   chunk-local running sum of a) and dΔ/d(dt) (for the backward);
 * - `cb` `C_t·B_s` for s ≤ t in t's chunk `[batch, seqlen, ngroups, chunk]`;
 * - `chunkState` `Σ_s exp(Σ_{s<τ≤last} a_τ)·Δ_s·x_s⊗B_s` per chunk `[batch, nchunks, nheads, headdim, dstate]`
 *   (segment sums as running sums over τ, never differences);
 * - `states` the state before every chunk and after the last `[batch, nchunks + 1, nheads, headdim, dstate]`
 *   (one invocation per state element runs the inter-chunk recurrence);
 * - `ypre` `[batch, seqlen, nheads, headdim]`: the diagonal block (running segment sum from t down
 *   to the chunk start) plus `exp(cum_t)·S_before·C_t`; then `y = (ypre + D·x)·silu(z)` elementwise.
 * Packed sequences: a position whose seqIdx differs from the previous one cuts every sum there.
 * Programs bind at most 7 tensors (WebGPU's default limit is 8 storage buffers per stage, output included).
 */
import type { TensorInfo, WebgpuProgram } from '@falcon/tensor';
import type { SsdAttrs } from '../../ssd_chunk_scan_signature.js';
import { clampsTimeStep } from '../../time_step.js';
import { WGSL_SILU } from './wgsl.js';

/** Sizes of an SSD call on WebGPU. @internal */
export interface SsdDims {
  /** batch */
  b: number;
  /** seqlen */
  l: number;
  /** nheads */
  h: number;
  /** headdim */
  p: number;
  /** ngroups */
  g: number;
  /** dstate */
  n: number;
  /** chunk length */
  q: number;
  /** number of chunks */
  nc: number;
}

/** The tensors of an SSD call on WebGPU (x, dt, B, C with their seqlen axis). @internal */
export interface SsdTensors {
  /** `[batch, seqlen, nheads, headdim]` */
  x: TensorInfo;
  /** `[batch, seqlen, nheads]` */
  dt: TensorInfo;
  /** `[nheads]` */
  A: TensorInfo;
  /** `[batch, seqlen, ngroups, dstate]` */
  B: TensorInfo;
  /** `[batch, seqlen, ngroups, dstate]` */
  C: TensorInfo;
  /** `[nheads]` */
  D?: TensorInfo;
  /** `[batch, seqlen, nheads, headdim]` */
  z?: TensorInfo;
  /** `[nheads]` */
  dtBias?: TensorInfo;
  /** `[batch, nheads, headdim, dstate]` */
  init?: TensorInfo;
  /** `[batch, seqlen]` */
  seqIdx?: TensorInfo;
}

/** Sizes from the tensors and the chunk size. @internal */
export function ssdDims(t: SsdTensors, chunkSize: number): SsdDims {
  const [b, l, h, p] = t.x.shape as number[];
  const [, , g, n] = t.B.shape as number[];
  const q = Math.max(1, Math.min(chunkSize, l));
  return { b, l, h, p, g, n, q, nc: Math.ceil(l / q) };
}

/** Uniforms shared by the SSD programs. @internal */
export function ssdUniforms(d: SsdDims, attrs: SsdAttrs) {
  const i = (value: number) => ({ type: 'i32' as const, value });
  return {
    batch: i(d.b),
    seqlen: i(d.l),
    nheads: i(d.h),
    headdim: i(d.p),
    ngroups: i(d.g),
    dstate: i(d.n),
    chunk: i(d.q),
    nchunks: i(d.nc),
    dtLo: { type: 'f32' as const, value: attrs.dtLimitMin },
    dtHi: { type: 'f32' as const, value: Math.min(attrs.dtLimitMax, 3.4e38) },
  };
}

/** A flat program over `size` elements with the shared uniforms. @internal */
export function flat(name: string, inputs: Record<string, TensorInfo>, outputShape: number[], uniforms: WebgpuProgram['uniforms'], shader: string): WebgpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return { name, inputs, outputShape, dispatch: Math.max(1, Math.ceil(size / 64)), uniforms, shader };
}

/** `boundary(bb, u)`: position u starts a new sequence (needs `seqIdx` when `seq`). @internal */
export const wgslBoundary = (seq: boolean) => /* wgsl */ `
fn boundary(bb: i32, u: i32) -> bool {
  ${seq ? 'return u >= 1 && seqIdx[bb * uniforms.seqlen + u] != seqIdx[bb * uniforms.seqlen + u - 1];' : 'return false;'}
}`;

/** `deltaAt`, `aAt` (= Δ·A), `cumAt`, `slopeAt` from the packed `ts` tensor. @internal */
export const WGSL_TS = /* wgsl */ `
fn tsIdx(bb: i32, t: i32, hh: i32) -> i32 { return ((bb * uniforms.seqlen + t) * uniforms.nheads + hh) * 4; }
fn slopeAt(bb: i32, t: i32, hh: i32) -> f32 { return ts[tsIdx(bb, t, hh) + 3]; }
fn deltaAt(bb: i32, t: i32, hh: i32) -> f32 { return ts[tsIdx(bb, t, hh)]; }
fn aAt(bb: i32, t: i32, hh: i32) -> f32 { return ts[tsIdx(bb, t, hh) + 1]; }
fn cumAt(bb: i32, t: i32, hh: i32) -> f32 { return ts[tsIdx(bb, t, hh) + 2]; }`;

/** Index helpers into the SSD layouts. @internal */
export const WGSL_INDEX = /* wgsl */ `
fn xIdx(bb: i32, t: i32, hh: i32, i: i32) -> i32 { return ((bb * uniforms.seqlen + t) * uniforms.nheads + hh) * uniforms.headdim + i; }
fn bIdx(bb: i32, t: i32, gg: i32, j: i32) -> i32 { return ((bb * uniforms.seqlen + t) * uniforms.ngroups + gg) * uniforms.dstate + j; }
fn sIdx(bb: i32, c: i32, hh: i32, i: i32, j: i32) -> i32 {
  return (((bb * (uniforms.nchunks + 1) + c) * uniforms.nheads + hh) * uniforms.headdim + i) * uniforms.dstate + j;
}
fn csIdx(bb: i32, c: i32, hh: i32, i: i32, j: i32) -> i32 {
  return (((bb * uniforms.nchunks + c) * uniforms.nheads + hh) * uniforms.headdim + i) * uniforms.dstate + j;
}
fn groupOf(hh: i32) -> i32 { return hh / (uniforms.nheads / uniforms.ngroups); }
fn chunkEnd(c: i32) -> i32 { return min(uniforms.seqlen, (c + 1) * uniforms.chunk) - 1; }`;

const tsShader = (attrs: SsdAttrs, bias: boolean) => /* wgsl */ `
fn rawOf(bb: i32, t: i32, hh: i32) -> f32 { return dt[(bb * uniforms.seqlen + t) * uniforms.nheads + hh]${bias ? ' + dtBias[hh]' : ''}; }
fn unclamped(v: f32) -> f32 {
  ${attrs.dtSoftplus ? 'if (v <= 20.0) { if (v < -15.0) { return exp(v); } return log(1.0 + exp(v)); }' : ''}
  return v;
}
fn deltaOf(bb: i32, t: i32, hh: i32) -> f32 {
  let v = unclamped(rawOf(bb, t, hh));
  ${clampsTimeStep(attrs) ? 'return clamp(v, uniforms.dtLo, uniforms.dtHi);' : 'return v;'}
}
fn slopeOf(bb: i32, t: i32, hh: i32) -> f32 {
  let v = rawOf(bb, t, hh);
  var s = ${attrs.dtSoftplus ? '1.0 / (1.0 + exp(-v))' : '1.0'};
  ${clampsTimeStep(attrs) ? 'let u = unclamped(v); if (u < uniforms.dtLo || u > uniforms.dtHi) { s = 0.0; }' : ''}
  return s;
}
fn main(index: i32) {
  if (index < uniforms.size) {
    let what = index % 4;
    var r = index / 4;
    let hh = r % uniforms.nheads;
    r = r / uniforms.nheads;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;
    var v = 0.0;
    if (what == 0) { v = deltaOf(bb, t, hh); }
    else if (what == 1) { v = deltaOf(bb, t, hh) * A[hh]; }
    else if (what == 3) { v = slopeOf(bb, t, hh); }
    else {
      for (var s = (t / uniforms.chunk) * uniforms.chunk; s <= t; s = s + 1) { v = v + deltaOf(bb, s, hh) * A[hh]; }
    }
    setOutputAtIndex(index, v);
  }
}`;

const cbShader = /* wgsl */ `
${WGSL_INDEX}
fn main(index: i32) {
  if (index < uniforms.size) {
    let sl = index % uniforms.chunk;
    var row = index / uniforms.chunk;
    let gg = row % uniforms.ngroups;
    row = row / uniforms.ngroups;
    let t = row % uniforms.seqlen;
    let bb = row / uniforms.seqlen;
    let s = (t / uniforms.chunk) * uniforms.chunk + sl;
    var acc = 0.0;
    if (s <= t) {
      for (var j = 0; j < uniforms.dstate; j = j + 1) { acc = acc + C[bIdx(bb, t, gg, j)] * B[bIdx(bb, s, gg, j)]; }
    }
    setOutputAtIndex(index, acc);
  }
}`;

const chunkStateShader = (seq: boolean) => /* wgsl */ `
${WGSL_INDEX}
${WGSL_TS}
${wgslBoundary(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let n = uniforms.dstate;
    let p = uniforms.headdim;
    let j = index % n;
    var r = index / n;
    let i = r % p;
    r = r / p;
    let hh = r % uniforms.nheads;
    r = r / uniforms.nheads;
    let c = r % uniforms.nchunks;
    let bb = r / uniforms.nchunks;
    let gg = groupOf(hh);
    var acc = 0.0;
    var suf = 0.0;
    for (var s = chunkEnd(c); s >= c * uniforms.chunk; s = s - 1) {
      acc = acc + exp(suf) * deltaAt(bb, s, hh) * x[xIdx(bb, s, hh, i)] * B[bIdx(bb, s, gg, j)];
      if (boundary(bb, s)) { break; }
      suf = suf + aAt(bb, s, hh);
    }
    setOutputAtIndex(index, acc);
  }
}`;

const statesShader = (seq: boolean, init: boolean) => /* wgsl */ `
${WGSL_INDEX}
${wgslBoundary(seq)}
fn main(index: i32) {
  let total = uniforms.batch * uniforms.nheads * uniforms.headdim * uniforms.dstate;
  if (index < total) {
    let n = uniforms.dstate;
    let p = uniforms.headdim;
    let j = index % n;
    var r = index / n;
    let i = r % p;
    r = r / p;
    let hh = r % uniforms.nheads;
    let bb = r / uniforms.nheads;
    var S = ${init ? 'init[index]' : '0.0'};
    for (var c = 0; c < uniforms.nchunks; c = c + 1) {
      setOutputAtIndex(sIdx(bb, c, hh, i, j), S);
      let last = chunkEnd(c);
      var flows = true;
      for (var u = c * uniforms.chunk; u <= last; u = u + 1) { if (boundary(bb, u)) { flows = false; } }
      var decay = 0.0;
      if (flows) { decay = exp(ts[((bb * uniforms.seqlen + last) * uniforms.nheads + hh) * 4 + 2]); }
      S = decay * S + chunkState[csIdx(bb, c, hh, i, j)];
    }
    setOutputAtIndex(sIdx(bb, uniforms.nchunks, hh, i, j), S);
  }
}`;

const finalShader = /* wgsl */ `
${WGSL_INDEX}
fn main(index: i32) {
  if (index < uniforms.size) {
    let n = uniforms.dstate;
    let p = uniforms.headdim;
    let j = index % n;
    var r = index / n;
    let i = r % p;
    r = r / p;
    let hh = r % uniforms.nheads;
    let bb = r / uniforms.nheads;
    setOutputAtIndex(index, states[sIdx(bb, uniforms.nchunks, hh, i, j)]);
  }
}`;

const yPreShader = (seq: boolean) => /* wgsl */ `
${WGSL_INDEX}
${WGSL_TS}
${wgslBoundary(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let p = uniforms.headdim;
    let i = index % p;
    var r = index / p;
    let hh = r % uniforms.nheads;
    r = r / uniforms.nheads;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;
    let gg = groupOf(hh);
    let c = t / uniforms.chunk;
    let c0 = c * uniforms.chunk;
    let cbRow = ((bb * uniforms.seqlen + t) * uniforms.ngroups + gg) * uniforms.chunk - c0;
    var acc = 0.0;
    var seg = 0.0;
    var flows = true;
    for (var s = t; s >= c0; s = s - 1) {
      acc = acc + cb[cbRow + s] * exp(seg) * deltaAt(bb, s, hh) * x[xIdx(bb, s, hh, i)];
      if (boundary(bb, s)) { flows = false; break; }
      seg = seg + aAt(bb, s, hh);
    }
    if (flows) {
      var dotSC = 0.0;
      for (var j = 0; j < uniforms.dstate; j = j + 1) { dotSC = dotSC + states[sIdx(bb, c, hh, i, j)] * C[bIdx(bb, t, gg, j)]; }
      acc = acc + exp(cumAt(bb, t, hh)) * dotSC;
    }
    setOutputAtIndex(index, acc);
  }
}`;

const gateShader = (D: boolean, z: boolean) => /* wgsl */ `
${WGSL_SILU}
fn main(index: i32) {
  if (index < uniforms.size) {
    var v = ypre[index];
    ${D ? 'v = v + D[(index / uniforms.headdim) % uniforms.nheads] * x[index];' : ''}
    ${z ? 'v = v * silu(z[index]);' : ''}
    setOutputAtIndex(index, v);
  }
}`;

/** The forward intermediates every SSD kernel starts from. @internal */
export interface SsdForwardParts {
  /** (Δ, a, chunk-local cumulative a, dΔ/d(dt)) `[batch, seqlen, nheads, 4]` */
  ts: TensorInfo;
  /** C·Bᵀ per chunk `[batch, seqlen, ngroups, chunk]` */
  cb: TensorInfo;
  /** states before every chunk and after the last `[batch, nchunks + 1, nheads, headdim, dstate]` */
  states: TensorInfo;
}

/** Run the shared forward programs (time steps, C·Bᵀ, chunk states, inter-chunk states). @internal */
export function ssdForwardParts(t: SsdTensors, d: SsdDims, attrs: SsdAttrs, run: (p: WebgpuProgram) => TensorInfo): SsdForwardParts {
  const u = ssdUniforms(d, attrs);
  const seq: Record<string, TensorInfo> = t.seqIdx ? { seqIdx: t.seqIdx } : {};
  const ts = run({
    ...flat('FalconSsdTimeSteps', { dt: t.dt, A: t.A, ...(t.dtBias ? { dtBias: t.dtBias } : {}) }, [d.b, d.l, d.h, 4], u, ''),
    shader: () => tsShader(attrs, !!t.dtBias),
    cacheKey: `${attrs.dtSoftplus ? 's' : ''}${clampsTimeStep(attrs) ? 'c' : ''}${t.dtBias ? 'b' : ''}`,
  });
  const cb = run(flat('FalconSsdCB', { B: t.B, C: t.C }, [d.b, d.l, d.g, d.q], u, cbShader));
  const chunkState = run({
    ...flat('FalconSsdChunkState', { x: t.x, B: t.B, ts, ...seq }, [d.b, d.nc, d.h, d.p, d.n], u, ''),
    shader: () => chunkStateShader(!!t.seqIdx),
    cacheKey: t.seqIdx ? 's' : '',
  });
  const total = d.b * d.h * d.p * d.n;
  const states = run({
    name: 'FalconSsdStates',
    inputs: { chunkState, ts, ...(t.init ? { init: t.init } : {}), ...seq },
    outputShape: [d.b, d.nc + 1, d.h, d.p, d.n],
    dispatch: Math.max(1, Math.ceil(total / 64)),
    uniforms: u,
    shader: () => statesShader(!!t.seqIdx, !!t.init),
    cacheKey: `${t.seqIdx ? 's' : ''}${t.init ? 'i' : ''}`,
  });
  return { ts, cb, states };
}

/** The program of y before the skip connection and the gate. @internal */
export function ssdYPreProgram(t: SsdTensors, d: SsdDims, attrs: SsdAttrs, parts: SsdForwardParts): WebgpuProgram {
  const inputs: Record<string, TensorInfo> = { x: t.x, C: t.C, ts: parts.ts, cb: parts.cb, states: parts.states, ...(t.seqIdx ? { seqIdx: t.seqIdx } : {}) };
  return { ...flat('FalconSsdYPre', inputs, [d.b, d.l, d.h, d.p], ssdUniforms(d, attrs), ''), shader: () => yPreShader(!!t.seqIdx), cacheKey: t.seqIdx ? 's' : '' };
}

/** The program of `y = (ypre + D·x)·silu(z)` (D and z when given). @internal */
export function ssdGateProgram(t: SsdTensors, d: SsdDims, attrs: SsdAttrs, ypre: TensorInfo): WebgpuProgram {
  const inputs: Record<string, TensorInfo> = { ypre, ...(t.D ? { D: t.D, x: t.x } : {}), ...(t.z ? { z: t.z } : {}) };
  return {
    ...flat('FalconSsdGate', inputs, [d.b, d.l, d.h, d.p], ssdUniforms(d, attrs), ''),
    shader: () => gateShader(!!t.D, !!t.z),
    cacheKey: `${t.D ? 'd' : ''}${t.z ? 'z' : ''}`,
  };
}

/** The final-states program `[batch, nheads, headdim, dstate]`. @internal */
export function ssdFinalProgram(d: SsdDims, attrs: SsdAttrs, parts: SsdForwardParts): WebgpuProgram {
  return flat('FalconSsdFinal', { states: parts.states }, [d.b, d.h, d.p, d.n], ssdUniforms(d, attrs), finalShader);
}

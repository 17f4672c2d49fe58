/**
 * WebGPU kernel of the attention backward (FlashAttention-2 formulas, scores recomputed tile by
 * tile, nothing quadratic stored): program 1 computes D = rowsum(dO∘O) − dlse; program 2, one
 * query row per invocation over staged key/value tiles, accumulates dQ = Σ dS·K·scale; program 3,
 * one key row per invocation over staged tiles of q, dO, lse and D of every query head of its KV
 * group, accumulates dV = Σ P·dO and dK = Σ dS·Q·scale (written side by side, then split).
 */
import { webgpuKernel } from '@falcon/tensor';
import { attentionUniforms, META_WGSL, packMeta, rangeWgsl, sliceProgram, tileRows, WG_ROWS } from './attention_wgsl.js';
import type { AttentionBackwardAttrs, FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, FlashAttentionBackwardOutputName } from '../../flash_attention_backward_signature.js';

const deltaShader = /* wgsl */ `
// fwd (the forward's out), dout: [b, l, h, D]; lse, dlse: [b, h, l]; result [b, h, l, 2]: (lse, D)
// (an input named 'out' would collide with tfjs's outShape uniform)
fn main(index: i32) {
  if (index < uniforms.size) {
    let n = index / 2;
    if (index % 2 == 0) {
      setOutputAtIndex(index, lse[n]);
      return;
    }
    let i = n % uniforms.lq;
    let bh = n / uniforms.lq;
    let h = bh % uniforms.nh;
    let b = bh / uniforms.nh;
    let o = ((b * uniforms.lq + i) * uniforms.nh + h) * uniforms.hd;
    var acc = 0.0;
    for (var d = 0; d < uniforms.hd; d++) { acc = acc + dout[o + d] * fwd[o + d]; }
    setOutputAtIndex(index, acc - dlse[n]);
  }
}`;

function dqShader(D: number, BC: number, alibi: boolean, mask: boolean, cu: boolean): string {
  return /* wgsl */ `
const D: i32 = ${D};
const BC: i32 = ${BC};
const WG: i32 = ${WG_ROWS};
var<workgroup> kS: array<f32, ${BC * D}>;
var<workgroup> vS: array<f32, ${BC * D}>;
var<workgroup> bounds: vec2<i32>;
${alibi || mask || cu ? META_WGSL : ''}
${rangeWgsl(cu)}

fn main() {
  let lid = i32(localId.x);
  let i0 = i32(workgroupId.x) * WG;
  let h = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let kh = h / (uniforms.nh / uniforms.nkv);
  let i = i0 + lid;
  if (lid == 0) {
    bounds = vec2<i32>(rowRange(i0).x, rowRange(min(i0 + WG, uniforms.lq) - 1).y);
  }
  let tb = workgroupUniformLoad(&bounds);
  var r = vec2<i32>(0, -1);
  var qv: array<f32, D>;
  var dov: array<f32, D>;
  var dq: array<f32, D>;
  var li = 0.0;
  var di = 0.0;
  let qo = ((b * uniforms.lq + i) * uniforms.nh + h) * D;
  if (i < uniforms.lq) {
    li = ld[2 * ((b * uniforms.nh + h) * uniforms.lq + i)];
    di = ld[2 * ((b * uniforms.nh + h) * uniforms.lq + i) + 1];
    if (li > -1.0e37) { r = rowRange(i); }
    for (var d = 0; d < D; d++) {
      qv[d] = q[qo + d] * uniforms.scale;
      dov[d] = dout[qo + d];
      dq[d] = 0.0;
    }
  }
  let pos = i + uniforms.lk - uniforms.lq;
  ${alibi ? 'let slope = slopeAt(h);' : ''}
  let kvStride = uniforms.nkv * D;
  for (var j0 = (tb.x / BC) * BC; j0 <= tb.y; j0 = j0 + BC) {
    for (var e = lid; e < BC * D; e = e + WG) {
      let j = j0 + e / D;
      var kx = 0.0;
      var vx = 0.0;
      if (j < uniforms.lk) {
        let o = (b * uniforms.kvRows + j) * kvStride + kh * D + e % D;
        kx = k[o];
        vx = v[o];
      }
      kS[e] = kx;
      vS[e] = vx;
    }
    workgroupBarrier();
    let a = max(r.x, j0);
    let z = min(r.y, j0 + BC - 1);
    for (var j = a; j <= z; j++) {
      ${mask ? 'if (!keptAt(b, j)) { continue; }' : ''}
      let c = (j - j0) * D;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0; d < D; d++) {
        s = s + qv[d] * kS[c + d];
        dp = dp + dov[d] * vS[c + d];
      }
      ${alibi ? 's = s - slope * f32(abs(pos - j));' : ''}
      let ds = exp(s - li) * (dp - di);
      for (var d = 0; d < D; d++) { dq[d] = dq[d] + ds * kS[c + d]; }
    }
    workgroupBarrier();
  }
  if (i < uniforms.lq) {
    for (var d = 0; d < D; d++) { setOutputAtIndex(qo + d, dq[d] * uniforms.scale); }
  }
}`;
}

function dkdvShader(D: number, BQ: number, alibi: boolean, mask: boolean, cu: boolean): string {
  return /* wgsl */ `
const D: i32 = ${D};
const BQ: i32 = ${BQ};
const WG: i32 = ${WG_ROWS};
var<workgroup> qS: array<f32, ${BQ * D}>;
var<workgroup> oS: array<f32, ${BQ * D}>;
var<workgroup> lS: array<f32, ${BQ}>;
var<workgroup> dS: array<f32, ${BQ}>;
var<workgroup> bounds: vec2<i32>;
${alibi || mask || cu ? META_WGSL : ''}
${rangeWgsl(cu)}

// result: [b, kvRows, nkv, 2·D] holding dk then dv
fn main() {
  let lid = i32(localId.x);
  let j0 = i32(workgroupId.x) * WG;
  let kh = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let g = uniforms.nh / uniforms.nkv;
  let j = j0 + lid;
  if (lid == 0) {
    if (j0 < uniforms.lk) {
      bounds = vec2<i32>(colRange(j0).x, colRange(min(j0 + WG, uniforms.lk) - 1).y);
    } else {
      bounds = vec2<i32>(0, -1);
    }
  }
  let tb = workgroupUniformLoad(&bounds);
  var cr = vec2<i32>(0, -1);
  var kv: array<f32, D>;
  var vv: array<f32, D>;
  var dk: array<f32, D>;
  var dv: array<f32, D>;
  let ko = ((b * uniforms.kvRows + j) * uniforms.nkv + kh) * D;
  if (j < uniforms.lk) {
    ${mask ? 'if (keptAt(b, j)) { cr = colRange(j); }' : 'cr = colRange(j);'}
    for (var d = 0; d < D; d++) {
      kv[d] = k[ko + d];
      vv[d] = v[ko + d];
    }
  }
  for (var d = 0; d < D; d++) {
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  let shift = uniforms.lk - uniforms.lq;
  // the head loop counts from 0 (uniform: builtins reach WGSL as private, non-uniform copies)
  for (var hh = 0; hh < g; hh++) {
    let h = kh * g + hh;
    ${alibi ? 'let slope = slopeAt(h);' : ''}
    for (var i0 = (tb.x / BQ) * BQ; i0 <= tb.y; i0 = i0 + BQ) {
      for (var e = lid; e < BQ * D; e = e + WG) {
        let i = i0 + e / D;
        var qx = 0.0;
        var ox = 0.0;
        if (i < uniforms.lq) {
          let o = ((b * uniforms.lq + i) * uniforms.nh + h) * D + e % D;
          qx = q[o] * uniforms.scale;
          ox = dout[o];
        }
        qS[e] = qx;
        oS[e] = ox;
      }
      for (var c = lid; c < BQ; c = c + WG) {
        let i = i0 + c;
        var lx = -3.0e38;
        var dx = 0.0;
        if (i < uniforms.lq) {
          lx = ld[2 * ((b * uniforms.nh + h) * uniforms.lq + i)];
          dx = ld[2 * ((b * uniforms.nh + h) * uniforms.lq + i) + 1];
        }
        lS[c] = lx;
        dS[c] = dx;
      }
      workgroupBarrier();
      let a = max(cr.x, i0);
      let z = min(cr.y, i0 + BQ - 1);
      for (var i = a; i <= z; i++) {
        let c = i - i0;
        let li = lS[c];
        if (li < -1.0e37) { continue; }
        let qc = c * D;
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0; d < D; d++) {
          s = s + qS[qc + d] * kv[d];
          dp = dp + oS[qc + d] * vv[d];
        }
        ${alibi ? 's = s - slope * f32(abs(i + shift - j));' : ''}
        let p = exp(s - li);
        let ds = p * (dp - dS[c]);
        for (var d = 0; d < D; d++) {
          dv[d] = dv[d] + p * oS[qc + d];
          dk[d] = dk[d] + ds * qS[qc + d];
        }
      }
      workgroupBarrier();
    }
  }
  if (j < uniforms.kvRows) {
    let o = ((b * uniforms.kvRows + j) * uniforms.nkv + kh) * 2 * D;
    for (var d = 0; d < D; d++) {
      setOutputAtIndex(o + d, dk[d]);
      setOutputAtIndex(o + D + d, dv[d]);
    }
  }
}`;
}

/** The attention backward WebGPU kernel. */
export const flashAttentionBackwardWebgpu = webgpuKernel<FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, AttentionBackwardAttrs, FlashAttentionBackwardOutputName>(({ inputs, attrs, run }) => {
  const { q, k, v, out, lse, dout, dlse, alibiSlopes, keyPaddingMask, cuSeqlens } = inputs;
  const [batch, seqlenQ, nHeads, headDim] = q.shape;
  const [, kvRows, nKvHeads] = k.shape;
  const D = headDim;
  const p = { ...attrs, batch, seqlenQ, seqlenK: attrs.kvLength >= 0 ? attrs.kvLength : kvRows, kvRows, nHeads, nKvHeads, headDim, nCu: cuSeqlens?.shape[0] ?? 0 };
  const packed = packMeta(run, { alibiSlopes, keyPaddingMask, cuSeqlens });
  const uniforms = { ...attentionUniforms(p), ...packed.uniforms };
  const flags = packed.flags;
  const key = `d${D}-${flags.map(Number).join('')}`;
  const extra: Record<string, typeof q> = packed.meta ? { extras: packed.meta as typeof q } : {};
  // (lse, D = rowsum(dO∘O) − dlse) side by side, so the programs below bind one buffer for both
  const ld = run({
    name: 'FalconFlashAttentionDelta',
    inputs: { fwd: out, dout, lse, dlse },
    outputShape: [batch, nHeads, seqlenQ, 2],
    dispatch: Math.ceil((2 * batch * nHeads * seqlenQ) / 64),
    uniforms: { lq: uniforms.lq, nh: uniforms.nh, hd: { type: 'i32', value: D } },
    shader: deltaShader,
  });
  const BC = tileRows(D);
  const dq = run({
    name: 'FalconFlashAttentionBackwardDq',
    inputs: { q, k, v, dout, ld, ...extra },
    outputShape: q.shape,
    workgroupSize: [WG_ROWS],
    dispatch: [Math.ceil(seqlenQ / WG_ROWS), nHeads, batch],
    uniforms,
    shader: () => dqShader(D, BC, ...flags),
    cacheKey: `${key}-bc${BC}`,
  });
  const dkdv = run({
    name: 'FalconFlashAttentionBackwardDkDv',
    inputs: { q, k, v, dout, ld, ...extra },
    outputShape: [batch, kvRows, nKvHeads, 2 * D],
    workgroupSize: [WG_ROWS],
    dispatch: [Math.ceil(kvRows / WG_ROWS), nKvHeads, batch],
    uniforms,
    shader: () => dkdvShader(D, BC, ...flags),
    cacheKey: `${key}-bq${BC}`,
  });
  return {
    dq,
    dk: sliceProgram('FalconFlashAttentionDk', dkdv, k.shape, D, 2 * D, 0, 'r', [1, 1, 1]),
    dv: sliceProgram('FalconFlashAttentionDv', dkdv, v.shape, D, 2 * D, D, 'r', [1, 1, 1]),
  };
});

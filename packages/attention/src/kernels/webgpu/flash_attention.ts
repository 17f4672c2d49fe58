/**
 * WebGPU kernel of `flashAttention` (and the core of `decodeAttention`): one workgroup per
 * (64-query tile, head, batch), one query row per invocation with its q and output accumulator in
 * registers; the workgroup stages tiles of keys and values of its KV head in workgroup memory and
 * every invocation runs an online softmax over the keys its row may see. Memory is linear in
 * seqlen. The program writes out and lse side by side (`[batch, nHeads, seqlen, headDim + 1]`);
 * two copy programs give the op's outputs.
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TensorInfo, WebgpuProgram } from '@falcon/tensor';
import type { GpuAttentionExtras, GpuAttentionProblem } from './attention_wgsl.js';
import { attentionUniforms, META_WGSL, packMeta, rangeWgsl, sliceProgram, tileRows, WG_ROWS } from './attention_wgsl.js';
import type { FlashAttentionAttrs, FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionOutputName } from '../../flash_attention_signature.js';

/** The tensors of an attention forward. */
export interface GpuAttentionInputs extends GpuAttentionExtras {
  /** `[batch, seqlen, nHeads, headDim]` */
  q: TensorInfo;
  /** `[batch, kvRows, nKvHeads, headDim]` */
  k: TensorInfo;
  /** `[batch, kvRows, nKvHeads, headDim]` */
  v: TensorInfo;
}

function forwardShader(D: number, BC: number, alibi: boolean, mask: boolean, cu: boolean): string {
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
  let live = i < uniforms.lq;
  if (lid == 0) {
    bounds = vec2<i32>(rowRange(i0).x, rowRange(min(i0 + WG, uniforms.lq) - 1).y);
  }
  let tb = workgroupUniformLoad(&bounds);
  var r = vec2<i32>(0, -1);
  var qv: array<f32, D>;
  var acc: array<f32, D>;
  if (live) {
    r = rowRange(i);
    let qo = ((b * uniforms.lq + i) * uniforms.nh + h) * D;
    for (var d = 0; d < D; d++) {
      qv[d] = q[qo + d] * uniforms.scale;
      acc[d] = 0.0;
    }
  }
  let pos = i + uniforms.lk - uniforms.lq;
  ${alibi ? 'let slope = slopeAt(h);' : ''}
  var m = -3.0e38;
  var l = 0.0;
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
      for (var d = 0; d < D; d++) { s = s + qv[d] * kS[c + d]; }
      ${alibi ? 's = s - slope * f32(abs(pos - j));' : ''}
      if (s > m) {
        let alpha = exp(m - s);
        l = l * alpha;
        for (var d = 0; d < D; d++) { acc[d] = acc[d] * alpha; }
        m = s;
      }
      let p = exp(s - m);
      l = l + p;
      for (var d = 0; d < D; d++) { acc[d] = acc[d] + p * vS[c + d]; }
    }
    workgroupBarrier();
  }
  if (live) {
    let o = ((b * uniforms.nh + h) * uniforms.lq + i) * (D + 1);
    if (l > 0.0) {
      let inv = 1.0 / l;
      for (var d = 0; d < D; d++) { setOutputAtIndex(o + d, acc[d] * inv); }
      setOutputAtIndex(o + D, m + log(l));
    } else {
      for (var d = 0; d < D; d++) { setOutputAtIndex(o + d, 0.0); }
      setOutputAtIndex(o + D, -uniforms.INFINITY);
    }
  }
}`;
}

/**
 * Run the forward program and return the copy programs of out `[batch, seqlen, nHeads, headDim]`
 * and lse `[batch, nHeads, seqlen]`.
 */
export function attentionForwardWebgpu(run: (p: WebgpuProgram) => TensorInfo, p: GpuAttentionProblem, t: GpuAttentionInputs): { out: WebgpuProgram; lse: WebgpuProgram } {
  const { batch: B, seqlenQ: L, nHeads: H, headDim: D } = p;
  const BC = tileRows(D);
  const { meta, uniforms, flags } = packMeta(run, t);
  const inputs: Record<string, TensorInfo> = { q: t.q, k: t.k, v: t.v };
  if (meta) inputs.extras = meta;
  const combined = run({
    name: 'FalconFlashAttentionForward',
    inputs,
    outputShape: [B, H, L, D + 1],
    workgroupSize: [WG_ROWS],
    dispatch: [Math.ceil(L / WG_ROWS), H, B],
    uniforms: { ...attentionUniforms(p), ...uniforms },
    shader: () => forwardShader(D, BC, ...flags),
    cacheKey: `d${D}-bc${BC}-${flags.map(Number).join('')}`,
  });
  // out[b, i, h, :] = combined[(b·H + h)·L + i, 0:D]
  const outRow = '((r / (uniforms.d1 * uniforms.d2)) * uniforms.d2 + r % uniforms.d2) * uniforms.d1 + (r / uniforms.d2) % uniforms.d1';
  return {
    out: sliceProgram('FalconFlashAttentionOut', combined, [B, L, H, D], D, D + 1, 0, outRow, [L, H, 1]),
    lse: sliceProgram('FalconFlashAttentionLse', combined, [B, H, L], 1, D + 1, D, 'r', [1, 1, 1]),
  };
}

/** The `flashAttention` WebGPU kernel. */
export const flashAttentionWebgpu = webgpuKernel<FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionAttrs, FlashAttentionOutputName>(
  ({ inputs, attrs, run }) => {
    const [batch, seqlenQ, nHeads, headDim] = inputs.q.shape;
    const [, seqlenK, nKvHeads] = inputs.k.shape;
    const p = { ...attrs, batch, seqlenQ, seqlenK, kvRows: seqlenK, nHeads, nKvHeads, headDim, nCu: inputs.cuSeqlens?.shape[0] ?? 0 };
    return attentionForwardWebgpu(run, p, inputs);
  },
);

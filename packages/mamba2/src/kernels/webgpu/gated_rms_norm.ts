/**
 * Gated group-wise RMSNorm on WebGPU: one workgroup per (row, group) segment of dim/ngroups
 * features; each invocation sums u² (u = x, or x·silu(z) when the gate comes first) over a strided
 * slice, a tree reduction gives the segment's total, then each invocation writes its slice of
 * `u·r·w` (times silu(z) when the gate comes after).
 */
import { webgpuKernel, wgslWorkgroupReduce } from '@falcon/tensor';
import type { GatedRmsNormAttrs, GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormOutputName } from '../../gated_rms_norm_signature.js';
import { reduceWorkgroupSize, WGSL_SILU } from './wgsl.js';

/** Gate placement compiled into the shader: 0 none, 1 before the norm, 2 after. @internal */
export function gateMode(hasZ: boolean, normBeforeGate: boolean): number {
  return !hasZ ? 0 : normBeforeGate ? 2 : 1;
}

const shader = (wg: number, mode: number) => /* wgsl */ `
${WGSL_SILU}
${wgslWorkgroupReduce(wg)}
const MODE: i32 = ${mode};
fn gated(i: i32) -> f32 {
  ${mode === 1 ? 'return x[i] * silu(z[i]);' : 'return x[i];'}
}
// x, z: [segs, m]; weight: [groups * m], segment s uses group s % groups; result: [segs, m].
fn main(index: i32) {
  let seg = index / i32(WG);
  let lid = i32(localId.x);
  let m = uniforms.m;
  let inRange = seg < uniforms.segs;
  let base = seg * m;
  var acc = 0.0;
  if (inRange) {
    for (var j = lid; j < m; j = j + i32(WG)) { let u = gated(base + j); acc = acc + u * u; }
  }
  partial[lid] = acc;
  let r = 1.0 / sqrt(workgroupSum(lid) / f32(m) + uniforms.eps);
  if (inRange) {
    let wbase = (seg % uniforms.groups) * m;
    for (var j = lid; j < m; j = j + i32(WG)) {
      var v = gated(base + j) * r * weight[wbase + j];
      ${mode === 2 ? 'v = v * silu(z[base + j]);' : ''}
      setOutputAtIndex(base + j, v);
    }
  }
}`;

/** WebGPU kernel of `FalconGatedRmsNorm`. @internal */
export const gatedRmsNormWebgpu = webgpuKernel<GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormAttrs, GatedRmsNormOutputName>(({ inputs: { x, weight, z }, attrs, run }) => {
  const dim = weight.shape[0];
  const size = x.shape.reduce((a, b) => a * b, 1);
  const m = dim / attrs.ngroups;
  const segs = size / m;
  const wg = reduceWorkgroupSize(m);
  const mode = gateMode(z !== undefined, attrs.normBeforeGate);
  const view = [segs, m];
  const y = run({
    name: 'FalconGatedRmsNorm',
    inputs: { x: { ...x, shape: view }, weight, ...(z ? { z: { ...z, shape: view } } : {}) },
    outputShape: view,
    workgroupSize: [wg],
    dispatch: Math.max(segs, 1),
    uniforms: {
      segs: { type: 'i32', value: segs },
      m: { type: 'i32', value: m },
      groups: { type: 'i32', value: attrs.ngroups },
      eps: { type: 'f32', value: attrs.eps },
    },
    shader: () => shader(wg, mode),
    cacheKey: `wg${wg}-mode${mode}`,
  });
  return { y: { ...y, shape: x.shape } };
});

/**
 * Backward of the gated group-wise RMSNorm on WebGPU, per segment (one (row, group) slice of
 * dim/ngroups features): a `stats` program (one workgroup per segment) computes
 * `r = 1/sqrt(mean u² + eps)` and `c = r²·Σ(g·w·u)/m` (u the normalised input, g the gradient
 * reaching u·r·w); then `dx` and `dz` are elementwise from them, and `dweight` sums `g·u·r` down the
 * segments of each group (one invocation per weight element).
 */
import { webgpuKernel, wgslWorkgroupReduce } from '@falcon/tensor';
import type { TensorInfo } from '@falcon/tensor';
import { gateMode } from './gated_rms_norm.js';
import { emptyTensor, reduceWorkgroupSize, WGSL_SILU } from './wgsl.js';
import type { GatedRmsNormBackwardAttrs, GatedRmsNormBackwardInputName, GatedRmsNormBackwardOptionalName, GatedRmsNormBackwardOutputName } from '../../gated_rms_norm_backward_signature.js';

// Shared: u (normalised input) and g (gradient reaching u·r·w) at element i of segment seg.
// (WGSL drops unused bindings, so a program binds only what its shader reads: dweight has no weight.)
const common = (mode: number, withWeight = true) => /* wgsl */ `
${WGSL_SILU}
fn uAt(i: i32) -> f32 { ${mode === 1 ? 'return x[i] * silu(z[i]);' : 'return x[i];'} }
fn gAt(i: i32) -> f32 { ${mode === 2 ? 'return dy[i] * silu(z[i]);' : 'return dy[i];'} }
${withWeight ? 'fn wAt(seg: i32, j: i32) -> f32 { return weight[(seg % uniforms.groups) * uniforms.m + j]; }' : ''}`;

// result: [segs, 2] = (r, c)
const statsShader = (wg: number, mode: number) => /* wgsl */ `
${common(mode)}
${wgslWorkgroupReduce(wg)}
fn main(index: i32) {
  let seg = index / i32(WG);
  let lid = i32(localId.x);
  let m = uniforms.m;
  let inRange = seg < uniforms.segs;
  let base = seg * m;
  var ss = 0.0;
  var dot = 0.0;
  if (inRange) {
    for (var j = lid; j < m; j = j + i32(WG)) {
      let u = uAt(base + j);
      ss = ss + u * u;
      dot = dot + gAt(base + j) * wAt(seg, j) * u;
    }
  }
  partial[lid] = ss;
  let r = 1.0 / sqrt(workgroupSum(lid) / f32(m) + uniforms.eps);
  partial[lid] = dot;
  let total = workgroupSum(lid);
  if (inRange && lid == 0) {
    setOutputAtIndex(seg * 2, r);
    setOutputAtIndex(seg * 2 + 1, r * r * total / f32(m));
  }
}`;

// result: [segs, m] (dx when WHAT = 0, dz when WHAT = 1)
const elemShader = (mode: number, what: number) => /* wgsl */ `
${common(mode)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let m = uniforms.m;
    let seg = index / m;
    let j = index - seg * m;
    let r = stats[seg * 2];
    let c = stats[seg * 2 + 1];
    let u = uAt(index);
    let du = r * (gAt(index) * wAt(seg, j) - u * c);
    ${
      what === 0
        ? `setOutputAtIndex(index, ${mode === 1 ? 'du * silu(z[index])' : 'du'});`
        : mode === 1
          ? 'setOutputAtIndex(index, du * x[index] * siluSlope(z[index]));'
          : 'setOutputAtIndex(index, dy[index] * u * r * wAt(seg, j) * siluSlope(z[index]));'
    }
  }
}`;

// result: [groups * m] = dweight
const dwShader = (mode: number) => /* wgsl */ `
${common(mode, false)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let m = uniforms.m;
    let g = index / m;
    let j = index - g * m;
    var acc = 0.0;
    for (var seg = g; seg < uniforms.segs; seg = seg + uniforms.groups) {
      let i = seg * m + j;
      acc = acc + gAt(i) * uAt(i) * stats[seg * 2];
    }
    setOutputAtIndex(index, acc);
  }
}`;

/** WebGPU kernel of `FalconGatedRmsNormBackward`. @internal */
export const gatedRmsNormBackwardWebgpu = webgpuKernel<GatedRmsNormBackwardInputName, GatedRmsNormBackwardOptionalName, GatedRmsNormBackwardAttrs, GatedRmsNormBackwardOutputName>(
  ({ inputs: { x, weight, dy, z }, attrs, run, backend }) => {
    const dim = weight.shape[0];
    const size = x.shape.reduce((a, b) => a * b, 1);
    const m = dim / attrs.ngroups;
    const segs = size / m;
    const wg = reduceWorkgroupSize(m);
    const mode = gateMode(z !== undefined, attrs.normBeforeGate);
    const view = [segs, m];
    const xv = { ...x, shape: view };
    const dyv = { ...dy, shape: view };
    const zs: Record<string, TensorInfo> = z ? { z: { ...z, shape: view } } : {};
    const base = { x: xv, weight, dy: dyv, ...zs };
    const uniforms = {
      segs: { type: 'i32' as const, value: segs },
      m: { type: 'i32' as const, value: m },
      groups: { type: 'i32' as const, value: attrs.ngroups },
      eps: { type: 'f32' as const, value: attrs.eps },
    };
    const stats = run({
      name: 'FalconGatedRmsNormBackwardStats',
      inputs: base,
      outputShape: [segs, 2],
      workgroupSize: [wg],
      dispatch: Math.max(segs, 1),
      uniforms,
      shader: () => statsShader(wg, mode),
      cacheKey: `wg${wg}-mode${mode}`,
    });
    const flat = (what: number) => ({
      inputs: { ...base, stats },
      outputShape: view,
      dispatch: Math.max(1, Math.ceil(size / 64)),
      uniforms,
      shader: () => elemShader(mode, what),
      cacheKey: `mode${mode}`,
    });
    const dx = run({ name: 'FalconGatedRmsNormBackwardDx', ...flat(0) });
    const dz = z ? { ...run({ name: 'FalconGatedRmsNormBackwardDz', ...flat(1) }), shape: x.shape } : emptyTensor(backend);
    return {
      dx: { ...dx, shape: x.shape },
      dz,
      dweight: {
        name: 'FalconGatedRmsNormBackwardDw',
        inputs: { x: xv, dy: dyv, ...zs, stats },
        outputShape: [dim],
        dispatch: Math.max(1, Math.ceil(dim / 64)),
        uniforms,
        shader: () => dwShader(mode),
        cacheKey: `mode${mode}`,
      },
    };
  },
);

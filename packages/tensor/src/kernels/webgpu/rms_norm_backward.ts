/**
 * RMSNorm backward on WebGPU, three programs: `invRms` (one workgroup per row: r = 1/sqrt(mean x² + eps),
 * an intermediate), `dx` (one workgroup per row: reduces Σ dy·w·x, then dx = r·(dy·w − x·r²·Σ/dim))
 * and `dw` (one invocation per weight element, summing dy·x·r down the rows of its group).
 */
import { webgpuKernel } from '../../op/webgpu/kernel.js';
import { wgslWorkgroupReduce } from '../../op/webgpu/workgroup_reduce.js';
import type { RmsNormAttrs, RmsNormBackwardInputName, RmsNormBackwardOutputName } from '../../rms_norm_signature.js';
import { rowWorkgroupSize } from './rms_norm.js';

const prelude = (wg: number) => wgslWorkgroupReduce(wg);

// x: [rows, dim]; result: [rows].
const invRmsShader = (wg: number) => /* wgsl */ `${prelude(wg)}
fn main(index: i32) {
  let row = index / i32(WG);
  let lid = i32(localId.x);
  let dim = uniforms.dim;
  var acc = 0.0;
  if (row < uniforms.rows) {
    for (var j = lid; j < dim; j = j + i32(WG)) {
      let v = x[row * dim + j];
      acc = acc + v * v;
    }
  }
  partial[lid] = acc;
  let total = workgroupSum(lid);
  if (lid == 0 && row < uniforms.rows) {
    setOutputAtIndex(row, 1.0 / sqrt(total / f32(dim) + uniforms.eps));
  }
}`;

// dy, x: [rows, dim]; weight: [groups * dim]; invRms: [rows]; result (dx): [rows, dim].
const dxShader = (wg: number) => /* wgsl */ `${prelude(wg)}
fn main(index: i32) {
  let row = index / i32(WG);
  let lid = i32(localId.x);
  let dim = uniforms.dim;
  let inRange = row < uniforms.rows;
  let base = row * dim;
  let wbase = (row % uniforms.groups) * dim;
  var acc = 0.0;
  if (inRange) {
    for (var j = lid; j < dim; j = j + i32(WG)) {
      acc = acc + dy[base + j] * weight[wbase + j] * x[base + j];
    }
  }
  partial[lid] = acc;
  let dot = workgroupSum(lid);
  if (inRange) {
    let r = invRms[row];
    let c = r * r * dot / f32(dim);
    for (var j = lid; j < dim; j = j + i32(WG)) {
      setOutputAtIndex(base + j, r * (dy[base + j] * weight[wbase + j] - x[base + j] * c));
    }
  }
}`;

// dy, x: [rows, dim]; invRms: [rows]; result (dw): [groups * dim].
const dwShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let dim = uniforms.dim;
    let g = index / dim;
    let j = index - g * dim;
    var acc = 0.0;
    for (var row = g; row < uniforms.rows; row = row + uniforms.groups) {
      acc = acc + dy[row * dim + j] * x[row * dim + j] * invRms[row];
    }
    setOutputAtIndex(index, acc);
  }
}`;

const zerosShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) { setOutputAtIndex(index, 0.0); }
}`;

/** WebGPU kernel of `FalconRmsNormBackward`. @internal */
export const rmsNormBackwardWebgpu = webgpuKernel<RmsNormBackwardInputName, never, RmsNormAttrs, RmsNormBackwardOutputName>(
  ({ inputs: { dy, x, weight }, attrs, run }) => {
    const dim = x.shape[x.shape.length - 1];
    const rows = x.shape.reduce((a, b) => a * b, 1) / dim;
    const wsize = weight.shape.reduce((a, b) => a * b, 1);
    const wg = rowWorkgroupSize(rows, dim);
    const x2 = { ...x, shape: [rows, dim] };
    const dy2 = { ...dy, shape: [rows, dim] };
    const sizes = {
      rows: { type: 'i32', value: rows },
      dim: { type: 'i32', value: dim },
      groups: { type: 'i32', value: wsize / dim },
    } as const;
    const invRms = run({
      name: 'FalconRmsNormInvRms',
      inputs: { x: x2 },
      outputShape: [rows],
      workgroupSize: [wg],
      dispatch: Math.max(rows, 1),
      uniforms: { ...sizes, eps: { type: 'f32', value: attrs.eps } },
      shader: () => invRmsShader(wg),
      cacheKey: `wg${wg}`,
    });
    const dx = run({
      name: 'FalconRmsNormBackwardDx',
      inputs: { dy: dy2, x: x2, weight: { ...weight, shape: [wsize] }, invRms },
      outputShape: [rows, dim],
      workgroupSize: [wg],
      dispatch: Math.max(rows, 1),
      uniforms: sizes,
      shader: () => dxShader(wg),
      cacheKey: `wg${wg}`,
    });
    const dw = run({
      name: rows > 0 ? 'FalconRmsNormBackwardDw' : 'FalconZeros',
      // With no rows there is nothing to bind (WebGPU refuses empty buffers): dw is all zeros.
      inputs: rows > 0 ? { dy: dy2, x: x2, invRms } : {},
      outputShape: [wsize],
      workgroupSize: [64],
      dispatch: Math.ceil(wsize / 64),
      uniforms: sizes,
      shader: rows > 0 ? dwShader : zerosShader,
    });
    return { dx: { ...dx, shape: x.shape }, dw: { ...dw, shape: weight.shape } };
  },
);

/**
 * RMSNorm forward on WebGPU, the worked example of `webgpuKernel`: one workgroup per row; each
 * invocation sums x² over a strided slice of the row, a tree reduction in workgroup memory gives
 * the row's sum, then every invocation writes its slice of y = w · x · r.
 */
import { webgpuKernel } from '../../op/webgpu/kernel.js';
import { wgslWorkgroupReduce } from '../../op/webgpu/workgroup_reduce.js';
import type { RmsNormAttrs, RmsNormInputName, RmsNormOutputName } from '../../rms_norm_signature.js';

/**
 * Invocations per workgroup (a power of two) for `rows` rows of `dim` elements: 64, or 256 for a
 * few long rows (decode), where the rows alone do not give the GPU enough parallelism. With many
 * rows 256 was 3–13× slower than 64 on SwiftShader (benchmarks/webgpu); not yet tuned on a GPU.
 * @internal
 */
export function rowWorkgroupSize(rows: number, dim: number): number {
  return rows < 16 && dim >= 2048 ? 256 : 64;
}

const shader = (wg: number) => /* wgsl */ `${wgslWorkgroupReduce(wg)}

// x: [rows, dim]; weight: [groups * dim], row r uses group r % groups; result: [rows, dim].
fn main(index: i32) {
  let row = index / i32(WG);
  let lid = i32(localId.x);
  let dim = uniforms.dim;
  let inRange = row < uniforms.rows;
  let base = row * dim;
  var acc = 0.0;
  if (inRange) {
    for (var j = lid; j < dim; j = j + i32(WG)) {
      let v = x[base + j];
      acc = acc + v * v;
    }
  }
  partial[lid] = acc;
  let r = 1.0 / sqrt(workgroupSum(lid) / f32(dim) + uniforms.eps);
  if (inRange) {
    let wbase = (row % uniforms.groups) * dim;
    for (var j = lid; j < dim; j = j + i32(WG)) {
      setOutputAtIndex(base + j, weight[wbase + j] * (x[base + j] * r));
    }
  }
}`;

/** WebGPU kernel of `FalconRmsNorm`. @internal */
export const rmsNormWebgpu = webgpuKernel<RmsNormInputName, never, RmsNormAttrs, RmsNormOutputName>(({ inputs: { x, weight }, attrs, run }) => {
  const dim = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = size / dim;
  const wg = rowWorkgroupSize(rows, dim);
  // The shader sees x and y as [rows, dim] (views of the same buffers), whatever x's rank.
  const y = run({
    name: 'FalconRmsNorm',
    inputs: { x: { ...x, shape: [rows, dim] }, weight },
    outputShape: [rows, dim],
    workgroupSize: [wg],
    dispatch: Math.max(rows, 1),
    uniforms: {
      rows: { type: 'i32', value: rows },
      dim: { type: 'i32', value: dim },
      groups: { type: 'i32', value: weight.shape.reduce((a, b) => a * b, 1) / dim },
      eps: { type: 'f32', value: attrs.eps },
    },
    shader: () => shader(wg),
    cacheKey: `wg${wg}`,
  });
  return { y: { ...y, shape: x.shape } };
});

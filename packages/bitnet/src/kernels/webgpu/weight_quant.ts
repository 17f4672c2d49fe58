/**
 * WebGPU kernel of {@link weightQuant}: (1) partial sums of |W| per workgroup (a strided sum and a
 * tree reduction, at most 256 workgroups), (2) one workgroup reduces them to `s = 1/max(mean, 1e-5)`
 * (or takes the supplied mean|W|), (3) one invocation per element writes `clip(round(W·s), −1, 1)/s`
 * (WGSL `round` is round-half-to-even, as torch.round).
 */
import { webgpuKernel, wgslWorkgroupReduce } from '@falcon/tensor';
import type { WebgpuProgram } from '@falcon/tensor';
import type { TensorInfo } from '@falcon/tensor';
import type { WeightQuantAttrs, WeightQuantInputName, WeightQuantOptionalName, WeightQuantOutputName } from '../../weight_quant_signature.js';

const WG = 256;
const MAX_GROUPS = 256;

const SUM = wgslWorkgroupReduce(WG);

// w: [n]; result: [groups], the sum of |w| over a strided slice per workgroup.
const absSumShader = /* wgsl */ `${SUM}
fn main(index: i32) {
  let g = index / i32(WG);
  let lid = i32(localId.x);
  var acc = 0.0;
  for (var i = g * i32(WG) + lid; i < uniforms.n; i = i + uniforms.groups * i32(WG)) { acc = acc + abs(w[i]); }
  partial[lid] = acc;
  let total = workgroupSum(lid);
  if (lid == 0 && g < uniforms.groups) { setOutputAtIndex(g, total); }
}`;

// partials: [groups]; result: [1] = 1 / max(Σ partials / n, eps).
const scaleShader = /* wgsl */ `${SUM}
fn main(index: i32) {
  let lid = i32(localId.x);
  var acc = 0.0;
  for (var i = lid; i < uniforms.groups; i = i + i32(WG)) { acc = acc + partials[i]; }
  partial[lid] = acc;
  let total = workgroupSum(lid);
  if (index == 0) { setOutputAtIndex(0, 1.0 / max(total / uniforms.count, uniforms.eps)); }
}`;

// meanAbs: [1]; result: [1] = 1 / max(meanAbs, eps).
const givenScaleShader = /* wgsl */ `
fn main(index: i32) {
  if (index == 0) { setOutputAtIndex(0, 1.0 / max(meanAbs[0], uniforms.eps)); }
}`;

// w: [n], scale: [1]; result: [n] = clip(round(w·s), −1, 1) / s.
const quantShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let s = scale[0];
    setOutputAtIndex(index, clamp(round(w[index] * s), -1.0, 1.0) / s);
  }
}`;

const EPS = { type: 'f32', value: 1e-5 } as const;

/** WebGPU kernel: inputs `w` (f32, any shape), optional `meanAbs`; outputs `y` (shape of w) and `scale` (`[1]`). */
export const weightQuantWebgpu = webgpuKernel<WeightQuantInputName, WeightQuantOptionalName, WeightQuantAttrs, WeightQuantOutputName>(({ inputs: { w, meanAbs }, run }) => {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const flat: TensorInfo = { ...w, shape: [n] };
  let scale: TensorInfo;
  if (meanAbs) {
    scale = run({ name: 'FalconWeightQuantGivenScale', inputs: { meanAbs: { ...meanAbs, shape: [1] } }, outputShape: [1], workgroupSize: [1], dispatch: 1, uniforms: { eps: EPS }, shader: givenScaleShader });
  } else {
    const groups = Math.min(MAX_GROUPS, Math.ceil(n / WG));
    const partials = run({
      name: 'FalconWeightQuantAbsSum',
      inputs: { w: flat },
      outputShape: [groups],
      workgroupSize: [WG],
      dispatch: groups,
      uniforms: { n: { type: 'i32', value: n }, groups: { type: 'i32', value: groups } },
      shader: absSumShader,
    });
    scale = run({
      name: 'FalconWeightQuantScale',
      inputs: { partials },
      outputShape: [1],
      workgroupSize: [WG],
      dispatch: 1,
      uniforms: { groups: { type: 'i32', value: groups }, count: { type: 'f32', value: n }, eps: EPS },
      shader: scaleShader,
    });
  }
  const y: WebgpuProgram = {
    name: 'FalconWeightQuant',
    inputs: { w: flat, scale },
    outputShape: [n],
    workgroupSize: [64],
    dispatch: Math.ceil(n / 64),
    shader: quantShader,
  };
  return { scale, y: { ...run(y), shape: w.shape } };
});

/**
 * WebGPU kernels of {@link activationQuant} and {@link activationQuantInt8}: (1) one workgroup per
 * token reduces max|x| (a strided max and a tree reduction) and writes `s_x = 127/max(max|x|, 1e-5)`
 * (or maps a supplied absMax), (2) one invocation per element writes `clip(round(x·s_x), −128, 127)`,
 * divided by s_x for the training form (WGSL `round` is round-half-to-even, as torch.round).
 */
import { webgpuKernel, wgslWorkgroupReduce } from '@falcon/tensor';
import type { KernelBackend, TensorInfo, WebgpuProgram } from '@falcon/tensor';
import type { ActivationQuantInt8Attrs, ActivationQuantInt8InputName, ActivationQuantInt8OptionalName, ActivationQuantInt8OutputName } from '../../activation_quant_int8_signature.js';
import type { ActivationQuantAttrs, ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantOutputName } from '../../activation_quant_signature.js';

const WG = 64;

// x: [rows, dim]; result: [rows] = 127 / max(max|x_row|, eps).
const scaleShader = /* wgsl */ `${wgslWorkgroupReduce(WG, ['max'])}
fn main(index: i32) {
  let row = index / i32(WG);
  let lid = i32(localId.x);
  let inRange = row < uniforms.rows;
  var m = 0.0;
  if (inRange) {
    for (var j = lid; j < uniforms.dim; j = j + i32(WG)) { m = max(m, abs(x[row * uniforms.dim + j])); }
  }
  partial[lid] = m;
  let total = workgroupMax(lid);
  if (inRange && lid == 0) { setOutputAtIndex(row, 127.0 / max(total, uniforms.eps)); }
}`;

// absMax: [rows]; result: [rows] = 127 / max(absMax, eps).
const givenScaleShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) { setOutputAtIndex(index, 127.0 / max(absMax[index], uniforms.eps)); }
}`;

// x: [rows·dim], scale: [rows]; result: q (int32) or q / s_x (f32).
const quantShader = (int: boolean) => /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let s = scale[index / uniforms.dim];
    let q = clamp(round(x[index] * s), -128.0, 127.0);
    ${int ? 'setOutputAtIndexI32(index, i32(q));' : 'setOutputAtIndex(index, q / s);'}
  }
}`;

const EPS = { type: 'f32', value: 1e-5 } as const;

/** The programs shared by both kernels: the per-token scale `[rows]`, then the quantised values. */
function plan(x: TensorInfo, absMax: TensorInfo | undefined, run: (p: WebgpuProgram) => TensorInfo, int: boolean, backend: KernelBackend): { q: TensorInfo; scale: TensorInfo } {
  const dim = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = size / dim;
  const scaleShape = [...x.shape.slice(0, -1), 1];
  if (size === 0) {
    // no tokens: empty outputs, no program (WebGPU cannot bind an empty buffer)
    const qDtype = int ? 'int32' : 'float32';
    return {
      q: { dataId: backend.write(int ? new Int32Array(0) : new Float32Array(0), x.shape, qDtype), shape: x.shape, dtype: qDtype },
      scale: { dataId: backend.write(new Float32Array(0), scaleShape, 'float32'), shape: scaleShape, dtype: 'float32' },
    };
  }
  const scale = absMax
    ? run({
        name: 'FalconActivationQuantGivenScale',
        inputs: { absMax: { ...absMax, shape: [rows] } },
        outputShape: [rows],
        dispatch: Math.ceil(rows / 64),
        uniforms: { eps: EPS },
        shader: givenScaleShader,
      })
    : run({
        name: 'FalconActivationQuantScale',
        inputs: { x: { ...x, shape: [rows, dim] } },
        outputShape: [rows],
        workgroupSize: [WG],
        dispatch: rows,
        uniforms: { rows: { type: 'i32', value: rows }, dim: { type: 'i32', value: dim }, eps: EPS },
        shader: scaleShader,
      });
  const q = run({
    name: int ? 'FalconActivationQuantInt8' : 'FalconActivationQuant',
    inputs: { x: { ...x, shape: [size] }, scale },
    outputShape: [size],
    outputDtype: int ? 'int32' : 'float32',
    dispatch: Math.ceil(size / 64),
    uniforms: { dim: { type: 'i32', value: dim } },
    shader: () => quantShader(int),
    cacheKey: int ? 'int' : 'float',
  });
  return { q: { ...q, shape: x.shape }, scale: { ...scale, shape: scaleShape } };
}

/** WebGPU kernel of activationQuant: inputs `x` `[..., d]`, optional `absMax` `[..., 1]`; outputs `y`, `scale` `[..., 1]`. */
export const activationQuantWebgpu = webgpuKernel<ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantAttrs, ActivationQuantOutputName>(({ inputs: { x, absMax }, run, backend }) => {
  const { q, scale } = plan(x, absMax, run, false, backend);
  return { y: q, scale };
});

/** WebGPU kernel of activationQuantInt8: inputs `x` `[..., d]`, optional `absMax`; outputs `q` (int32), `scale` `[..., 1]`. */
export const activationQuantInt8Webgpu = webgpuKernel<ActivationQuantInt8InputName, ActivationQuantInt8OptionalName, ActivationQuantInt8Attrs, ActivationQuantInt8OutputName>(({ inputs: { x, absMax }, run, backend }) =>
  plan(x, absMax, run, true, backend),
);

/**
 * Backward of the depthwise causal convolution on WebGPU: `da` (the output gradient through the
 * SiLU, recomputing the pre-activation; an intermediate), then one invocation per element of
 * dx and of the initial-state gradient (each summing the taps that read it, plus the final-state
 * gradient of the rows it was copied to), per (channel, tap) of the weight gradient and per
 * channel of the bias gradient (each summing over batch and positions).
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TensorInfo } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dOptionalName } from '../../causal_conv1d_signature.js';
import type { CausalConv1dBackwardInputName, CausalConv1dBackwardOutputName } from '../../causal_conv1d_backward_signature.js';
import type { ConvFlags } from './causal_conv1d.js';
import { convInputs, convUniforms, flagKey, wgslConvInput, wgslConvPre } from './causal_conv1d.js';
import { emptyTensor, WGSL_SILU } from './wgsl.js';

const daShader = (f: ConvFlags, silu: boolean) => /* wgsl */ `
${WGSL_SILU}
${silu ? wgslConvPre(f) : ''}
fn main(index: i32) {
  if (index < uniforms.size) {
    ${
      silu
        ? `let d = uniforms.dim;
    let c = index % d;
    let row = index / d;
    setOutputAtIndex(index, dy[index] * siluSlope(pre(row / uniforms.seqlen, row % uniforms.seqlen, c)));`
        : 'setOutputAtIndex(index, dy[index]);'
    }
  }
}`;

// dxe(bb, u, c): gradient of the extended input (initial state then x) at extended position u.
const dxeShader = (seq: boolean, forInit: boolean) => /* wgsl */ `
fn tapValid(bb: i32, t: i32, s: i32) -> bool {
  ${
    seq
      ? `for (var u = max(s + 1, 1); u <= t; u = u + 1) {
    if (seqIdx[bb * uniforms.seqlen + u] != seqIdx[bb * uniforms.seqlen + u - 1]) { return false; }
  }`
      : ''
  }
  return true;
}
fn main(index: i32) {
  if (index < uniforms.size) {
    let d = uniforms.dim;
    let k = uniforms.dconv;
    let km1 = k - 1;
    let l = uniforms.seqlen;
    let c = index % d;
    let row = index / d;
    ${forInit ? 'let u = row % km1; let bb = row / km1;' : 'let u = row % l + km1; let bb = row / l;'}
    var acc = 0.0;
    for (var j = 0; j < k; j = j + 1) {
      let t = u - j;
      if (t >= 0 && t < l && tapValid(bb, t, u - km1)) { acc = acc + weight[c * k + j] * da[(bb * l + t) * d + c]; }
    }
    if (u >= l) { acc = acc + dFinal[(bb * km1 + u - l) * d + c]; }
    setOutputAtIndex(index, acc);
  }
}`;

const dwShader = (f: ConvFlags) => /* wgsl */ `
${wgslConvInput(f)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let d = uniforms.dim;
    let k = uniforms.dconv;
    let c = index / k;
    let j = index % k;
    var acc = 0.0;
    for (var bb = 0; bb < uniforms.batch; bb = bb + 1) {
      for (var t = 0; t < uniforms.seqlen; t = t + 1) {
        let s = t + j - (k - 1);
        if (tapValid(bb, t, s)) { acc = acc + da[(bb * uniforms.seqlen + t) * d + c] * xe(bb, s, c); }
      }
    }
    setOutputAtIndex(index, acc);
  }
}`;

const dbShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    var acc = 0.0;
    let rows = uniforms.batch * uniforms.seqlen;
    for (var r = 0; r < rows; r = r + 1) { acc = acc + da[r * uniforms.dim + index]; }
    setOutputAtIndex(index, acc);
  }
}`;

/** WebGPU kernel of `FalconCausalConv1dBackward`. @internal */
export const causalConv1dBackwardWebgpu = webgpuKernel<CausalConv1dBackwardInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dBackwardOutputName>(
  ({ inputs: { x, weight, bias, initialState, seqIdx, dy, dFinalState }, attrs, run, backend }) => {
    const [b, l, d] = x.shape as number[];
    const k = weight.shape[1] as number;
    const f: ConvFlags = { bias: !!bias, init: !!initialState, seq: !!seqIdx };
    const uniforms = convUniforms(b, l, d, k);
    const seq: Record<string, TensorInfo> = seqIdx ? { seqIdx } : {};
    const da = run({
      name: 'FalconCausalConv1dBackwardDa',
      inputs: attrs.silu ? { ...convInputs(x, weight, bias, initialState, seqIdx), dy } : { dy },
      outputShape: [b, l, d],
      dispatch: Math.ceil((b * l * d) / 64),
      uniforms,
      shader: () => daShader(f, attrs.silu),
      cacheKey: attrs.silu ? flagKey(f, true) : '',
    });
    const dxe = (forInit: boolean) => ({
      name: forInit ? 'FalconCausalConv1dBackwardDinit' : 'FalconCausalConv1dBackwardDx',
      inputs: { weight, da, dFinal: dFinalState, ...seq },
      outputShape: forInit ? [b, k - 1, d] : [b, l, d],
      dispatch: Math.ceil((b * (forInit ? k - 1 : l) * d) / 64),
      uniforms,
      shader: () => dxeShader(f.seq, forInit),
      cacheKey: `${f.seq ? 's' : ''}${forInit ? 'i' : ''}`,
    });
    return {
      dx: dxe(false),
      dweight: {
        name: 'FalconCausalConv1dBackwardDw',
        inputs: { x, da, ...(initialState ? { init: initialState } : {}), ...seq },
        outputShape: [d, k],
        dispatch: Math.ceil((d * k) / 64),
        uniforms,
        shader: () => dwShader(f),
        cacheKey: flagKey({ ...f, bias: false }, false),
      },
      dbias: bias
        ? { name: 'FalconCausalConv1dBackwardDb', inputs: { da }, outputShape: [d], dispatch: Math.ceil(d / 64), uniforms, shader: dbShader }
        : emptyTensor(backend),
      dInitialState: initialState ? dxe(true) : emptyTensor(backend),
    };
  },
);

/**
 * The depthwise causal convolution on WebGPU: one invocation per output element, summing the
 * dconv taps (each checked against packed-sequence boundaries when seqIdx is given), plus a copy
 * program for the final state. The WGSL pieces are shared with the backward
 * (`causal_conv1d_backward.ts`); each program binds only the tensors its shader reads.
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TensorInfo } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dOutputName } from '../../causal_conv1d_signature.js';
import { WGSL_SILU } from './wgsl.js';

/** Which optional inputs a conv program has (compiled into its text). @internal */
export interface ConvFlags {
  /** bias given */
  bias: boolean;
  /** initial state given */
  init: boolean;
  /** seqIdx given */
  seq: boolean;
}

/** The uniforms every conv program gets. @internal */
export function convUniforms(b: number, l: number, d: number, k: number) {
  return {
    batch: { type: 'i32' as const, value: b },
    seqlen: { type: 'i32' as const, value: l },
    dim: { type: 'i32' as const, value: d },
    dconv: { type: 'i32' as const, value: k },
  };
}

/**
 * `tapValid(bb, t, s)`: no sequence starts in (s, t] (always true without seqIdx).
 * `xe(bb, s, c)`: the extended input (initial state for s < 0, x otherwise).
 * @internal
 */
export const wgslConvInput = (f: ConvFlags) => /* wgsl */ `
fn tapValid(bb: i32, t: i32, s: i32) -> bool {
  ${
    f.seq
      ? `for (var u = max(s + 1, 1); u <= t; u = u + 1) {
    if (seqIdx[bb * uniforms.seqlen + u] != seqIdx[bb * uniforms.seqlen + u - 1]) { return false; }
  }`
      : ''
  }
  return true;
}
fn xe(bb: i32, s: i32, c: i32) -> f32 {
  let d = uniforms.dim;
  if (s >= 0) { return x[(bb * uniforms.seqlen + s) * d + c]; }
  ${f.init ? 'return init[(bb * (uniforms.dconv - 1) + uniforms.dconv - 1 + s) * d + c];' : 'return 0.0;'}
}`;

/** `pre(bb, t, c)`: bias plus the valid taps (needs x, weight, and bias/init/seqIdx per flags). @internal */
export const wgslConvPre = (f: ConvFlags) => /* wgsl */ `
${wgslConvInput(f)}
fn pre(bb: i32, t: i32, c: i32) -> f32 {
  let k = uniforms.dconv;
  var acc = ${f.bias ? 'bias[c]' : '0.0'};
  for (var j = 0; j < k; j = j + 1) {
    let s = t + j - (k - 1);
    if (tapValid(bb, t, s)) { acc = acc + weight[c * k + j] * xe(bb, s, c); }
  }
  return acc;
}`;

/** The tensors of the forward pre-activation, by WGSL name. @internal */
export function convInputs(x: TensorInfo, weight: TensorInfo, bias?: TensorInfo, init?: TensorInfo, seqIdx?: TensorInfo): Record<string, TensorInfo> {
  return { x, weight, ...(bias ? { bias } : {}), ...(init ? { init } : {}), ...(seqIdx ? { seqIdx } : {}) };
}

/** A key of the flags. @internal */
export function flagKey(f: ConvFlags, silu: boolean): string {
  return `${f.bias ? 'b' : ''}${f.init ? 'i' : ''}${f.seq ? 's' : ''}${silu ? 'a' : ''}`;
}

const yShader = (f: ConvFlags, silu: boolean) => /* wgsl */ `
${WGSL_SILU}
${wgslConvPre(f)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let d = uniforms.dim;
    let c = index % d;
    let row = index / d;
    let t = row % uniforms.seqlen;
    let bb = row / uniforms.seqlen;
    let v = pre(bb, t, c);
    setOutputAtIndex(index, ${silu ? 'silu(v)' : 'v'});
  }
}`;

const finalShader = (init: boolean) => /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let d = uniforms.dim;
    let km1 = uniforms.dconv - 1;
    let c = index % d;
    let row = index / d;
    let r = row % km1;
    let bb = row / km1;
    let u = uniforms.seqlen + r;
    var v = 0.0;
    if (u >= km1) { v = x[(bb * uniforms.seqlen + u - km1) * d + c]; }
    ${init ? 'else { v = init[(bb * km1 + u) * d + c]; }' : ''}
    setOutputAtIndex(index, v);
  }
}`;

/** WebGPU kernel of `FalconCausalConv1d`. @internal */
export const causalConv1dWebgpu = webgpuKernel<CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dOutputName>(
  ({ inputs: { x, weight, bias, initialState, seqIdx }, attrs }) => {
    const [b, l, d] = x.shape as number[];
    const k = weight.shape[1] as number;
    const f: ConvFlags = { bias: !!bias, init: !!initialState, seq: !!seqIdx };
    const uniforms = convUniforms(b, l, d, k);
    return {
      y: {
        name: 'FalconCausalConv1d',
        inputs: convInputs(x, weight, bias, initialState, seqIdx),
        outputShape: [b, l, d],
        dispatch: Math.ceil((b * l * d) / 64),
        uniforms,
        shader: () => yShader(f, attrs.silu),
        cacheKey: flagKey(f, attrs.silu),
      },
      finalState: {
        name: 'FalconCausalConv1dFinalState',
        inputs: { x, ...(initialState ? { init: initialState } : {}) },
        outputShape: [b, k - 1, d],
        dispatch: Math.ceil((b * (k - 1) * d) / 64),
        uniforms,
        shader: () => finalShader(f.init),
        cacheKey: f.init ? 'i' : '',
      },
    };
  },
);

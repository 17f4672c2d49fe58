/**
 * The depthwise causal convolution on the CPU, over typed arrays: for each output row
 * (batch, position) the dconv taps are accumulated over the channel axis (contiguous), with the
 * kernel transposed to `[dconv, dim]` once so every inner loop reads memory in order.
 */
import { hostKernel } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dOutputName } from '../../causal_conv1d_signature.js';
import { segmentStarts } from './segments.js';

/** The problem of one conv call, flat. @internal */
export interface ConvProblem {
  /** batch */
  nb: number;
  /** seqlen */
  l: number;
  /** dim */
  d: number;
  /** dconv */
  k: number;
  /** `[batch, seqlen, dim]` */
  x: Float32Array;
  /** `[dconv, dim]` (transposed weight), float64 */
  wT: Float64Array;
  /** `[dim]` */
  bias?: Float32Array;
  /** `[batch, dconv − 1, dim]` */
  init?: Float32Array;
  /** `[batch, seqlen]` */
  seqIdx?: Int32Array;
}

/** Transpose `[dim, dconv]` to `[dconv, dim]`. @internal */
export function transposeWeight(w: Float32Array, d: number, k: number): Float64Array {
  const wT = new Float64Array(k * d);
  for (let c = 0; c < d; c++) for (let j = 0; j < k; j++) wT[j * d + c] = w[c * k + j];
  return wT;
}

/**
 * Pre-activation of row (bb, t) into `acc` (bias plus the valid taps).
 * `seg` holds the segment starts of batch bb.
 * @internal
 */
export function convRow(pr: ConvProblem, bb: number, t: number, seg: Int32Array, acc: Float64Array): void {
  const { l, d, k, x, wT, bias, init } = pr;
  const km1 = k - 1;
  if (bias) for (let c = 0; c < d; c++) acc[c] = bias[c];
  else acc.fill(0);
  for (let j = 0; j < k; j++) {
    const s = t + j - km1;
    if (s < seg[t]) continue;
    let src: Float32Array;
    let base: number;
    if (s >= 0) {
      src = x;
      base = (bb * l + s) * d;
    } else if (init) {
      src = init;
      base = (bb * km1 + km1 + s) * d;
    } else continue;
    const wj = j * d;
    for (let c = 0; c < d; c++) acc[c] += wT[wj + c] * src[base + c];
  }
}

/** Forward: y `[batch, seqlen, dim]` and the final state `[batch, dconv − 1, dim]`. @internal */
export function causalConv1dHost(pr: ConvProblem, silu: boolean): { y: Float32Array; finalState: Float32Array } {
  const { nb, l, d, k, x, init, seqIdx } = pr;
  const km1 = k - 1;
  const y = new Float32Array(nb * l * d);
  const fin = new Float32Array(nb * km1 * d);
  const acc = new Float64Array(d);
  const seg = new Int32Array(l);
  for (let bb = 0; bb < nb; bb++) {
    segmentStarts(seqIdx, bb * l, l, seg);
    for (let t = 0; t < l; t++) {
      convRow(pr, bb, t, seg, acc);
      const o = (bb * l + t) * d;
      if (silu) for (let c = 0; c < d; c++) y[o + c] = acc[c] / (1 + Math.exp(-acc[c]));
      else for (let c = 0; c < d; c++) y[o + c] = acc[c];
    }
    // the last k − 1 rows of [initial state; x]
    for (let r = 0; r < km1; r++) {
      const u = l + r; // index in the extended sequence
      const dst = (bb * km1 + r) * d;
      if (u >= km1) fin.set(x.subarray((bb * l + u - km1) * d, (bb * l + u - km1 + 1) * d), dst);
      else if (init) fin.set(init.subarray((bb * km1 + u) * d, (bb * km1 + u + 1) * d), dst);
    }
  }
  return { y, finalState: fin };
}

/** The CPU kernel of `FalconCausalConv1d`. @internal */
export const causalConv1dCpu = hostKernel<CausalConv1dInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dOutputName>((t, attrs) => {
  const [nb, l, d] = t.x.shape;
  const k = t.weight.shape[1];
  const pr: ConvProblem = {
    nb, l, d, k,
    x: t.x.values as Float32Array,
    wT: transposeWeight(t.weight.values as Float32Array, d, k),
    bias: t.bias?.values as Float32Array | undefined,
    init: t.initialState?.values as Float32Array | undefined,
    seqIdx: t.seqIdx?.values as Int32Array | undefined,
  };
  const r = causalConv1dHost(pr, attrs.silu);
  return {
    y: { values: r.y, shape: [nb, l, d], dtype: 'float32' },
    finalState: { values: r.finalState, shape: [nb, k - 1, d], dtype: 'float32' },
  };
});

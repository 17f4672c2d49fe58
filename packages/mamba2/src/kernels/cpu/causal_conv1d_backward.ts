/**
 * The backward of the depthwise causal convolution on the CPU. Per output row the pre-activation
 * is recomputed (for the SiLU slope), then each valid tap j sends `w[j]·da` to its input row and
 * accumulates `da·input` into the weight gradient; the final-state gradient goes to the rows it
 * was copied from.
 */
import { hostKernel } from '@falcon/tensor';
import type { CausalConv1dAttrs, CausalConv1dOptionalName } from '../../causal_conv1d_signature.js';
import type { CausalConv1dBackwardInputName, CausalConv1dBackwardOutputName } from '../../causal_conv1d_backward_signature.js';
import type { ConvProblem } from './causal_conv1d.js';
import { convRow, transposeWeight } from './causal_conv1d.js';
import { segmentStarts } from './segments.js';

/** Gradients of x, weight `[dim, dconv]`, bias and the initial state. @internal */
export function causalConv1dBackwardHost(
  pr: ConvProblem,
  silu: boolean,
  dy: Float32Array,
  dFinal: Float32Array,
): { dx: Float32Array; dweight: Float32Array; dbias: Float64Array; dInit: Float32Array } {
  const { nb, l, d, k, x, wT, init, seqIdx } = pr;
  const km1 = k - 1;
  const dx = new Float32Array(nb * l * d);
  const dInit = new Float32Array(init ? nb * km1 * d : 0);
  const dwT = new Float64Array(k * d);
  const dbias = new Float64Array(d);
  const acc = new Float64Array(d);
  const da = new Float64Array(d);
  const seg = new Int32Array(l);
  for (let bb = 0; bb < nb; bb++) {
    segmentStarts(seqIdx, bb * l, l, seg);
    for (let t = 0; t < l; t++) {
      const o = (bb * l + t) * d;
      if (silu) {
        convRow(pr, bb, t, seg, acc);
        for (let c = 0; c < d; c++) {
          const v = acc[c];
          const sg = 1 / (1 + Math.exp(-v));
          da[c] = dy[o + c] * sg * (1 + v * (1 - sg));
        }
      } else {
        for (let c = 0; c < d; c++) da[c] = dy[o + c];
      }
      for (let c = 0; c < d; c++) dbias[c] += da[c];
      for (let j = 0; j < k; j++) {
        const s = t + j - km1;
        if (s < seg[t]) continue;
        let src: Float32Array;
        let dst: Float32Array;
        let base: number;
        if (s >= 0) {
          src = x;
          dst = dx;
          base = (bb * l + s) * d;
        } else if (init) {
          src = init;
          dst = dInit;
          base = (bb * km1 + km1 + s) * d;
        } else continue;
        const wj = j * d;
        for (let c = 0; c < d; c++) {
          dst[base + c] += wT[wj + c] * da[c];
          dwT[wj + c] += da[c] * src[base + c];
        }
      }
    }
    for (let r = 0; r < km1; r++) {
      const u = l + r;
      const from = (bb * km1 + r) * d;
      if (u >= km1) {
        const base = (bb * l + u - km1) * d;
        for (let c = 0; c < d; c++) dx[base + c] += dFinal[from + c];
      } else if (init) {
        const base = (bb * km1 + u) * d;
        for (let c = 0; c < d; c++) dInit[base + c] += dFinal[from + c];
      }
    }
  }
  const dweight = new Float32Array(d * k);
  for (let c = 0; c < d; c++) for (let j = 0; j < k; j++) dweight[c * k + j] = dwT[j * d + c];
  return { dx, dweight, dbias, dInit };
}

/** The CPU kernel of `FalconCausalConv1dBackward`. @internal */
export const causalConv1dBackwardCpu = hostKernel<CausalConv1dBackwardInputName, CausalConv1dOptionalName, CausalConv1dAttrs, CausalConv1dBackwardOutputName>(
  (t, attrs) => {
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
    const r = causalConv1dBackwardHost(pr, attrs.silu, t.dy.values as Float32Array, t.dFinalState.values as Float32Array);
    return {
      dx: { values: r.dx, shape: [nb, l, d], dtype: 'float32' },
      dweight: { values: r.dweight, shape: [d, k], dtype: 'float32' },
      dbias: { values: t.bias ? Float32Array.from(r.dbias) : new Float32Array(0), shape: t.bias ? [d] : [0], dtype: 'float32' },
      dInitialState: { values: r.dInit, shape: t.initialState ? [nb, k - 1, d] : [0], dtype: 'float32' },
    };
  },
);

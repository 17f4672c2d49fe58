/** RMSNorm backward on the CPU: dx row by row, dw accumulated over rows, sums in float64. */
import { hostKernel } from '../../op/host_kernel.js';
import type { RmsNormAttrs, RmsNormBackwardInputName, RmsNormBackwardOutputName } from '../../rms_norm_signature.js';

/** CPU kernel of `FalconRmsNormBackward`. @internal */
export const rmsNormBackwardCpu = hostKernel<RmsNormBackwardInputName, never, RmsNormAttrs, RmsNormBackwardOutputName>(({ dy, x, weight }, { eps }) => {
  const dim = x.shape[x.shape.length - 1];
  const xs = x.values as Float32Array;
  const g = dy.values as Float32Array;
  const w = weight.values as Float32Array;
  const dx = new Float32Array(xs.length);
  const dw = new Float64Array(w.length);
  for (let base = 0; base < xs.length; base += dim) {
    const wbase = base % w.length;
    let ss = 0;
    let dot = 0;
    for (let j = 0; j < dim; j++) {
      ss += xs[base + j] * xs[base + j];
      dot += g[base + j] * w[wbase + j] * xs[base + j];
    }
    const r = 1 / Math.sqrt(ss / dim + eps);
    const c = (r * r * dot) / dim;
    for (let j = 0; j < dim; j++) {
      dx[base + j] = r * (g[base + j] * w[wbase + j] - xs[base + j] * c);
      dw[wbase + j] += g[base + j] * xs[base + j] * r;
    }
  }
  return {
    dx: { values: dx, shape: x.shape, dtype: 'float32' },
    dw: { values: Float32Array.from(dw), shape: weight.shape, dtype: 'float32' },
  };
});

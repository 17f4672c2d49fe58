/** RMSNorm forward on the CPU: one pass per row over typed arrays, sums in float64. */
import { hostKernel } from '../../op/host_kernel.js';
import type { RmsNormAttrs, RmsNormInputName, RmsNormOutputName } from '../../rms_norm_signature.js';

/** CPU kernel of `FalconRmsNorm`. @internal */
export const rmsNormCpu = hostKernel<RmsNormInputName, never, RmsNormAttrs, RmsNormOutputName>(({ x, weight }, { eps }) => {
  const dim = x.shape[x.shape.length - 1];
  const xs = x.values as Float32Array;
  const w = weight.values as Float32Array;
  const y = new Float32Array(xs.length);
  for (let base = 0; base < xs.length; base += dim) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += xs[base + j] * xs[base + j];
    const r = 1 / Math.sqrt(ss / dim + eps);
    const wbase = base % w.length;
    for (let j = 0; j < dim; j++) y[base + j] = w[wbase + j] * (xs[base + j] * r);
  }
  return { y: { values: y, shape: x.shape, dtype: 'float32' } };
});

/**
 * The group-wise gated RMSNorm on the CPU: one pass per group for the sum of squares, one for
 * the output; float64 arithmetic, float32 results.
 */
import { hostKernel } from '@falcon/tensor';
import type { GatedRmsNormAttrs, GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormOutputName } from '../../gated_rms_norm_signature.js';

/** The CPU kernel of `FalconGatedRmsNorm`. @internal */
export const gatedRmsNormCpu = hostKernel<GatedRmsNormInputName, GatedRmsNormOptionalName, GatedRmsNormAttrs, GatedRmsNormOutputName>((t, { eps, ngroups, normBeforeGate }) => {
  const x = t.x.values as Float32Array;
  const w = t.weight.values as Float32Array;
  const z = t.z?.values as Float32Array | undefined;
  const dim = w.length;
  const m = dim / ngroups;
  const rows = x.length / dim;
  const y = new Float32Array(x.length);
  const gateFirst = z !== undefined && !normBeforeGate;
  const gateAfter = z !== undefined && normBeforeGate;
  const u = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    for (let gg = 0; gg < ngroups; gg++) {
      const o = r * dim + gg * m;
      let ss = 0;
      for (let i = 0; i < m; i++) {
        let v = x[o + i];
        if (gateFirst) {
          const zi = z[o + i];
          v *= zi / (1 + Math.exp(-zi));
        }
        u[i] = v;
        ss += v * v;
      }
      const rs = 1 / Math.sqrt(ss / m + eps);
      for (let i = 0; i < m; i++) {
        let v = u[i] * rs * w[gg * m + i];
        if (gateAfter) {
          const zi = z[o + i];
          v *= zi / (1 + Math.exp(-zi));
        }
        y[o + i] = v;
      }
    }
  }
  return { y: { values: y, shape: t.x.shape, dtype: 'float32' } };
});

/**
 * The backward of the group-wise gated RMSNorm on the CPU. Per group, with `u` the normalised
 * input (x, or x·silu(z) when the gate comes first), `r = 1/sqrt(mean(u²) + eps)` and `g` the
 * gradient arriving at `u·r·w` (dy, times silu(z) when the gate comes after):
 * `dw += g·u·r`, `du = r·(g·w − u·r²·mean(g·w·u))`, then through the gate.
 */
import { hostKernel } from '@falcon/tensor';
import type { GatedRmsNormBackwardAttrs, GatedRmsNormBackwardInputName, GatedRmsNormBackwardOptionalName, GatedRmsNormBackwardOutputName } from '../../gated_rms_norm_backward_signature.js';

/** The CPU kernel of `FalconGatedRmsNormBackward`. @internal */
export const gatedRmsNormBackwardCpu = hostKernel<GatedRmsNormBackwardInputName, GatedRmsNormBackwardOptionalName, GatedRmsNormBackwardAttrs, GatedRmsNormBackwardOutputName>(
  (t, { eps, ngroups, normBeforeGate }) => {
    const x = t.x.values as Float32Array;
    const w = t.weight.values as Float32Array;
    const dy = t.dy.values as Float32Array;
    const z = t.z?.values as Float32Array | undefined;
    const dim = w.length;
    const m = dim / ngroups;
    const rows = x.length / dim;
    const dx = new Float32Array(x.length);
    const dz = new Float32Array(z ? x.length : 0);
    const dw = new Float64Array(dim);
    const gateFirst = z !== undefined && !normBeforeGate;
    const gateAfter = z !== undefined && normBeforeGate;
    const u = new Float64Array(m);
    const gw = new Float64Array(m);
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
        let dot = 0;
        for (let i = 0; i < m; i++) {
          const wi = w[gg * m + i];
          let gi = dy[o + i];
          if (gateAfter) {
            const zi = z[o + i];
            const sg = 1 / (1 + Math.exp(-zi));
            dz[o + i] = gi * u[i] * rs * wi * sg * (1 + zi * (1 - sg));
            gi *= zi * sg;
          }
          dw[gg * m + i] += gi * u[i] * rs;
          gw[i] = gi * wi;
          dot += gw[i] * u[i];
        }
        const c = (rs * rs * dot) / m;
        for (let i = 0; i < m; i++) {
          const du = rs * (gw[i] - u[i] * c);
          if (gateFirst) {
            const zi = z[o + i];
            const sg = 1 / (1 + Math.exp(-zi));
            dx[o + i] = du * zi * sg;
            dz[o + i] = du * x[o + i] * sg * (1 + zi * (1 - sg));
          } else {
            dx[o + i] = du;
          }
        }
      }
    }
    return {
      dx: { values: dx, shape: t.x.shape, dtype: 'float32' },
      dweight: { values: Float32Array.from(dw), shape: [dim], dtype: 'float32' },
      dz: { values: dz, shape: z ? t.x.shape : [0], dtype: 'float32' },
    };
  },
);

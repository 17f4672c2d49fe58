/**
 * CPU kernel of `applyRope`: per (batch, position) the cos/sin of every frequency are computed once
 * (angle rounded to float32 as transformers does) and applied to every head in one flat pass.
 */
import { hostKernel } from '@falcon/tensor';
import type { ApplyRopeInputName, ApplyRopeOutputName, RopeAttrs } from '../../apply_rope_signature.js';

const f32 = Math.fround;

/** The `applyRope` CPU kernel. */
export const applyRopeCpu = hostKernel<ApplyRopeInputName, never, RopeAttrs, ApplyRopeOutputName>(({ x, positions }, { invFreq, attentionScaling, inverse }) => {
  const [B, L, H, D] = x.shape;
  const X = x.values as Float32Array;
  const P = positions.values;
  const perBatch = positions.shape.length === 2;
  const half = invFreq.length;
  const y = new Float32Array(X.length);
  const cs = new Float64Array(half);
  const sn = new Float64Array(half);
  const sign = inverse ? -attentionScaling : attentionScaling;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const pos = f32(P[perBatch ? b * L + t : t]);
      for (let j = 0; j < half; j++) {
        const angle = f32(pos * invFreq[j]);
        cs[j] = f32(Math.cos(angle)) * attentionScaling;
        sn[j] = f32(Math.sin(angle)) * sign;
      }
      for (let h = 0; h < H; h++) {
        const o = ((b * L + t) * H + h) * D;
        for (let j = 0; j < half; j++) {
          const x1 = X[o + j];
          const x2 = X[o + j + half];
          y[o + j] = x1 * cs[j] - x2 * sn[j];
          y[o + j + half] = x2 * cs[j] + x1 * sn[j];
        }
        for (let d = 2 * half; d < D; d++) y[o + d] = X[o + d];
      }
    }
  }
  return { y: { values: y, shape: x.shape, dtype: 'float32' } };
});

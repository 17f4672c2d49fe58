/** CPU kernel of `alibiBias`: one flat pass writing `−slope_h · |i + seqlenK − seqlenQ − j|`. */
import { hostKernel } from '@falcon/tensor';
import type { AlibiAttrs, AlibiBiasInputName, AlibiBiasOutputName } from '../../alibi_bias_signature.js';

/** The `alibiBias` CPU kernel. */
export const alibiBiasCpu = hostKernel<AlibiBiasInputName, never, AlibiAttrs, AlibiBiasOutputName>(({ slopes }, { seqlenQ: L, seqlenK: LK }) => {
  const H = slopes.shape[0];
  const bias = new Float32Array(H * L * LK);
  for (let h = 0; h < H; h++) {
    const s = slopes.values[h];
    for (let i = 0; i < L; i++) {
      const o = (h * L + i) * LK;
      const pos = i + LK - L;
      for (let j = 0; j < LK; j++) bias[o + j] = -s * Math.abs(pos - j);
    }
  }
  return { bias: { values: bias, shape: [H, L, LK], dtype: 'float32' } };
});

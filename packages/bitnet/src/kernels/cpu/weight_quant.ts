/**
 * CPU kernel of {@link weightQuant}: one pass for Σ|W| (f64, rounded to f32 as a tensor sum), one
 * pass that maps each weight to {−d, 0, d} with d = f32(1/s). Products are rounded to f32 before
 * the comparison with ±0.5, so ties round half to even exactly as torch does on f32 tensors.
 */
import { hostKernel } from '@falcon/tensor';
import { EPS_F32 } from './rounding.js';
import type { WeightQuantAttrs, WeightQuantInputName, WeightQuantOptionalName, WeightQuantOutputName } from '../../weight_quant_signature.js';

/** Host kernel: inputs `w` (f32, any shape), optional `meanAbs` (`[]`/`[1]`); outputs `y` (shape of w), `scale` (`[1]`). */
export const weightQuantCpu = hostKernel<WeightQuantInputName, WeightQuantOptionalName, WeightQuantAttrs, WeightQuantOutputName>(({ w, meanAbs }) => {
  const v = w.values as Float32Array;
  const n = v.length;
  let m: number;
  if (meanAbs) {
    m = meanAbs.values[0];
  } else {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(v[i]);
    m = Math.fround(Math.fround(s) / n);
  }
  if (m < EPS_F32) m = EPS_F32;
  const scale = Math.fround(1 / m);
  const d = Math.fround(1 / scale);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = Math.fround(v[i] * scale);
    // round(t) clipped to [-1, 1]: 1 above 0.5, −1 below −0.5, 0 in [−0.5, 0.5] (ties to even); NaN stays NaN
    y[i] = t > 0.5 ? d : t < -0.5 ? -d : t * 0;
  }
  return { y: { values: y, shape: w.shape, dtype: 'float32' }, scale: { values: new Float32Array([scale]), shape: [1], dtype: 'float32' } };
});

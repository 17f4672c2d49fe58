/**
 * CPU kernels of {@link activationQuant} (dequantised output) and {@link activationQuantInt8}
 * (integer output): per row of the last dimension, one pass for max|x| and one that rounds
 * f32(x·s_x) half to even and clips to [−128, 127], as torch does on f32 tensors.
 */
import { hostKernel } from '@falcon/tensor';
import type { HostTensor } from '@falcon/tensor';
import { EPS_F32 } from './rounding.js';
import type { ActivationQuantInt8Attrs, ActivationQuantInt8InputName, ActivationQuantInt8OptionalName, ActivationQuantInt8OutputName } from '../../activation_quant_int8_signature.js';
import type { ActivationQuantAttrs, ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantOutputName } from '../../activation_quant_signature.js';

/**
 * Quantise `x` row by row into `q` (integers) and `scales`; `dequantize` also divides by the scale.
 * @param out - Float32Array (dequantised) or Int32Array (integers) of x's length
 * @param absMax - max|x| per row, or undefined to compute it
 */
function quantizeRows(x: Float32Array, d: number, absMax: HostTensor | undefined, out: Float32Array | Int32Array, scales: Float32Array, dequantize: boolean): void {
  const rows = scales.length;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mx = 0;
    if (absMax) {
      mx = absMax.values[r];
    } else {
      for (let j = 0; j < d; j++) {
        const a = Math.abs(x[o + j]);
        if (a > mx) mx = a;
      }
    }
    const s = Math.fround(127 / (mx < EPS_F32 ? EPS_F32 : mx));
    scales[r] = s;
    for (let j = 0; j < d; j++) {
      const t = Math.fround(x[o + j] * s);
      let q = Math.round(t);
      if (q - t === 0.5 && (q & 1) !== 0) q -= 1; // round half to even
      if (q > 127) q = 127;
      else if (q < -128) q = -128;
      out[o + j] = dequantize ? q / s : q;
    }
  }
}

function scaleShape(x: HostTensor): number[] {
  return [...x.shape.slice(0, -1), 1];
}

/** Host kernel of activationQuant: inputs `x` `[..., d]` f32, optional `absMax` `[..., 1]`; outputs `y` (f32, shape of x) and `scale` (`[..., 1]`). */
export const activationQuantCpu = hostKernel<ActivationQuantInputName, ActivationQuantOptionalName, ActivationQuantAttrs, ActivationQuantOutputName>(({ x, absMax }) => {
  const d = x.shape[x.shape.length - 1];
  const y = new Float32Array(x.values.length);
  const scales = new Float32Array(x.values.length / d);
  quantizeRows(x.values as Float32Array, d, absMax, y, scales, true);
  return { y: { values: y, shape: x.shape, dtype: 'float32' }, scale: { values: scales, shape: scaleShape(x), dtype: 'float32' } };
});

/** Host kernel of activationQuantInt8: inputs `x` `[..., d]` f32, optional `absMax` `[..., 1]`; outputs `q` (int32, shape of x) and `scale` (`[..., 1]`). */
export const activationQuantInt8Cpu = hostKernel<ActivationQuantInt8InputName, ActivationQuantInt8OptionalName, ActivationQuantInt8Attrs, ActivationQuantInt8OutputName>(({ x, absMax }) => {
  const d = x.shape[x.shape.length - 1];
  const q = new Int32Array(x.values.length);
  const scales = new Float32Array(x.values.length / d);
  quantizeRows(x.values as Float32Array, d, absMax, q, scales, false);
  return { q: { values: q, shape: x.shape, dtype: 'int32' }, scale: { values: scales, shape: scaleShape(x), dtype: 'float32' } };
});

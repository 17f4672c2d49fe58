/**
 * Scalar helpers shared by this package's CPU kernels: f32 rounding of products, torch's
 * round-half-to-even, and the f32 value of the 1e-5 clamp the quantisers use.
 */

/** `1e-5` rounded to f32: what `clamp(min=1e-5)` compares with on an f32 tensor. */
export const EPS_F32 = Math.fround(1e-5);

/**
 * Round half to even (torch.round, tfjs round) of a finite value below 2^31 in magnitude.
 * @param t - value to round
 */
export function roundHalfEven(t: number): number {
  const r = Math.round(t);
  return r - t === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

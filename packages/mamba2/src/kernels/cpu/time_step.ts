/**
 * Host time step for the CPU SSD kernels: fills Δ, its derivative with respect to the raw dt,
 * `a = Δ·A` and `exp(a)` for one (batch, head) over a range of positions, in float64.
 */
import type { TimeStepAttrs } from '../../time_step.js';
import { clampsTimeStep } from '../../time_step.js';

/** Per-position time-step values of one (batch, head) row. @internal */
export interface TimeStepRow {
  /** Δ_t. */
  delta: Float64Array;
  /** dΔ_t / d(dt_t) (softplus slope times the clamp mask). */
  slope: Float64Array;
  /** a_t = Δ_t·A. */
  a: Float64Array;
}

/** Allocate rows for `len` positions. @internal */
export function timeStepRow(len: number): TimeStepRow {
  return { delta: new Float64Array(len), slope: new Float64Array(len), a: new Float64Array(len) };
}

/**
 * Fill `row[0..len)` from `dt[off + k·stride]`, k < len.
 * Softplus is `log1p(exp(v))`, and `v` itself above 20 (PyTorch's threshold).
 * @internal
 */
export function fillTimeStep(
  row: TimeStepRow,
  dt: Float32Array,
  off: number,
  stride: number,
  len: number,
  bias: number,
  A: number,
  attrs: TimeStepAttrs,
): void {
  const clamp = clampsTimeStep(attrs);
  const lo = attrs.dtLimitMin;
  const hi = attrs.dtLimitMax;
  const sp = attrs.dtSoftplus;
  const { delta, slope, a } = row;
  for (let k = 0; k < len; k++) {
    const v = dt[off + k * stride] + bias;
    let d = v;
    let s = 1;
    if (sp) {
      if (v <= 20) {
        const e = Math.exp(v);
        d = Math.log1p(e);
        s = e / (1 + e);
      }
      // above 20: d = v and s = 1 to float64 rounding of the sigmoid (1 − 2e-9)
      if (v > 20) s = 1 / (1 + Math.exp(-v));
    }
    if (clamp) {
      if (d < lo || d > hi) s = 0;
      d = d < lo ? lo : d > hi ? hi : d;
    }
    delta[k] = d;
    slope[k] = s;
    a[k] = d * A;
  }
}

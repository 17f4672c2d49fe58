/**
 * The time step Δ of the SSD ops: `Δ = clamp(softplus?(dt + dtBias), dtLimit)`. This file holds
 * the attributes the ops carry for it and their conversion from the public options; the
 * reference is in `reference/time_step.ts`, the host version in `kernels/cpu/time_step.ts`.
 */
import { check } from './validate.js';

/** Time-step options shared by {@link ssdChunkScan} and {@link selectiveStateUpdate}. */
export interface TimeStepOptions {
  /** Apply softplus to `dt + dtBias` (default false, as mamba-ssm; Falcon-H1 uses true). */
  dtSoftplus?: boolean;
  /**
   * Clamp Δ to `[min, max]` after the softplus (transformers' `time_step_limit`). The default
   * `[0, Infinity]` means no clamp at all (as mamba-ssm), not a clamp at 0.
   */
  dtLimit?: readonly [number, number];
}

/** The time-step attributes of the SSD ops. @internal */
export interface TimeStepAttrs {
  /** Softplus on `dt + dtBias`. */
  dtSoftplus: boolean;
  /** Lower clamp bound. */
  dtLimitMin: number;
  /** Upper clamp bound. */
  dtLimitMax: number;
}

/** Check a `[min, max]` time-step limit: `0 <= min <= max`, no NaN. @internal */
export function checkDtLimit(op: string, lo: number, hi: number): void {
  const ok = typeof lo === 'number' && typeof hi === 'number' && !Number.isNaN(lo) && !Number.isNaN(hi) && lo <= hi && lo >= 0;
  check(op).require(ok, () => `dtLimit must be [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`);
}

/** Convert public options to op attributes, validating the limit. @internal */
export function timeStepAttrs(op: string, o: TimeStepOptions): TimeStepAttrs {
  const [lo, hi] = o.dtLimit ?? [0, Infinity];
  checkDtLimit(op, lo, hi);
  return { dtSoftplus: o.dtSoftplus ?? false, dtLimitMin: lo, dtLimitMax: hi };
}

/** True when the limit is a real clamp (anything but the default `[0, Infinity]`). @internal */
export function clampsTimeStep(a: TimeStepAttrs): boolean {
  return !(a.dtLimitMin === 0 && a.dtLimitMax === Infinity);
}

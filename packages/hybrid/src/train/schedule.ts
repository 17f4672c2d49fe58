/** Learning-rate schedule: linear warm-up from 0, then cosine decay to a floor. */

/** Options of {@link warmupCosine}. */
export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Warm-up steps (default 0). */
  warmupSteps?: number;
  /** Steps after which the rate stays at `minLr` (the length of the run). */
  totalSteps: number;
  /** Final learning rate (default lr / 10). */
  minLr?: number;
}

/**
 * The learning rate at `step` (0-based): `lr·(step+1)/warmup` during warm-up, then
 * `minLr + (lr − minLr)·(1 + cos(π·progress))/2`.
 */
export function warmupCosine(step: number, o: ScheduleOptions): number {
  const warm = o.warmupSteps ?? 0;
  const minLr = o.minLr ?? o.lr / 10;
  if (step < warm) return (o.lr * (step + 1)) / warm;
  const span = Math.max(1, o.totalSteps - warm);
  const progress = Math.min(1, (step - warm) / span);
  return minLr + ((o.lr - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
}

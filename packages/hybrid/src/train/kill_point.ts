/**
 * Named points where a test can make a training process kill itself (SIGKILL, no clean-up), to
 * prove that a run survives a crash at that instant: `FALCON_TEST_KILL_AT=<point>@<step>` (several
 * separated by commas). Points: `mid-step` (gradients computed, optimizer not yet stepped),
 * `after-metrics` (the step's metrics line written, its checkpoint not yet), `write:<file>`
 * (part of a checkpoint file written), `after:<file>` (a checkpoint file complete, the next one not
 * begun), `before-rename`, `after-rename`, `latest-tmp`, `after-commit`, `export`. Unset in
 * normal use, when every call is a no-op.
 */

/**
 * Kill this process with SIGKILL if `FALCON_TEST_KILL_AT` names this point at this step.
 * @param point - the point's name, e.g. `write:model.safetensors`
 * @param step - the 1-based step being trained or saved
 */
export function killPoint(point: string, step: number): void {
  const spec = process.env.FALCON_TEST_KILL_AT;
  if (!spec) return;
  if (spec.split(',').some((s) => s.trim() === `${point}@${step}`)) process.kill(process.pid, 'SIGKILL');
}

/** Whether any kill point is armed for `point` at `step` (to write a file in parts only then). @internal */
export function killPointArmed(point: string, step: number): boolean {
  const spec = process.env.FALCON_TEST_KILL_AT;
  return !!spec && spec.split(',').some((s) => s.trim() === `${point}@${step}`);
}

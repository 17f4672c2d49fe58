// Starts the pipeline test worker (worker.ts) in `n` processes.
import type { LaunchResult } from '@falcon/parallel';
import { launchWorkers } from '../helpers/launch_workers.js';

/** Run `worker.ts <args>` in `n` ranks; resolves with the launch result and the prefixed output. */
export function runStages(n: number, args: string[]): Promise<LaunchResult & { out: string }> {
  return launchWorkers(new URL('./worker.ts', import.meta.url), n, args);
}

// The multi-process benchmarks' entry: run as a plain command (no WORLD_SIZE), a script starts
// itself again in `--nproc-per-node N` workers through the project's launcher (@falcon/parallel's
// launch(): torchrun's environment, the store hosted by the launcher, rank-prefixed output, the
// others stopped when one fails); in a worker (WORLD_SIZE set) it does its work.
import { launch } from '@falcon/parallel';
import type { LaunchOptions, LaunchResult } from '@falcon/parallel';

/**
 * `argv` without `--nproc-per-node N` / `--nproc-per-node=N`.
 * @param argv - a script's arguments
 * @returns the others, in order
 */
export function withoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc-per-node') i++;
    else if (!argv[i].startsWith('--nproc-per-node=')) out.push(argv[i]);
  }
  return out;
}

/**
 * Start `script` (this Node, its flags, e.g. tsx's loader) in `nproc` workers with `argv`, and wait.
 * @param script - the file to run in every worker (`fileURLToPath(import.meta.url)`)
 * @param nproc - worker processes (≥ 1)
 * @param argv - the workers' arguments (`--nproc-per-node` is dropped)
 * @param options - more launcher options (graceMs, stdout...)
 * @returns the launcher's result: exitCode 0 when every worker exited 0, else which rank failed and how
 * @throws when nproc is not a positive integer
 */
export async function launchWorkers(script: string, nproc: number, argv: string[], options: Partial<LaunchOptions> = {}): Promise<LaunchResult> {
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`--nproc-per-node must be a positive integer, got ${nproc}`);
  if (process.env.WORLD_SIZE !== undefined) throw new Error('--nproc-per-node: this process was started by a launcher already (WORLD_SIZE is set)');
  return launch({ ...options, nprocPerNode: nproc, command: process.execPath, args: [...process.execArgv, script, ...withoutNproc(argv)] });
}

/** Whether this process is a launched worker (torchrun's WORLD_SIZE is set). */
export function isWorker(): boolean {
  return process.env.WORLD_SIZE !== undefined;
}

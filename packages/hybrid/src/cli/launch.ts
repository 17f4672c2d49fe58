/**
 * `falcon launch`: starts one worker process per rank on this node with torchrun's environment
 * (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`), prefixes
 * their output lines with the rank, and exits non-zero naming the rank when one fails.
 */
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, LAUNCH_OPTIONS_HELP, LaunchArgsError, parseLaunchArgs } from '@falcon/parallel';
import type { Command } from './command.js';
import { UsageError } from './command.js';

/**
 * `initBackend` options of a worker started with torchrun's environment: on cuda, the worker's GPU
 * is its `LOCAL_RANK` (one GPU per process, torchrun's convention); otherwise none.
 * @param backend - the backend the worker starts
 * @param env - the worker's environment
 */
export function workerBackendOptions(backend: string, env: NodeJS.ProcessEnv = process.env): { device?: number } {
  if (backend !== 'cuda' || env.LOCAL_RANK === undefined) return {};
  const device = Number(env.LOCAL_RANK);
  if (!Number.isInteger(device) || device < 0) throw new UsageError(`LOCAL_RANK must be a non-negative integer (the worker's GPU), got '${env.LOCAL_RANK}'`);
  return { device };
}

/** The `falcon launch` command. */
export const launchCommand: Command = {
  summary: 'start a distributed job: one process per rank, torchrun-style',
  help: [
    'Usage: falcon launch [options] -- <command> [args...]',
    '',
    'Starts --nproc-per-node copies of <command> on this node, each with the environment',
    'initProcessGroup() reads (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,',
    'MASTER_ADDR, MASTER_PORT). Ranks are node-major: RANK = node-rank * nproc-per-node + local rank.',
    'Every output line is prefixed with "[rank R]: ". SIGINT, SIGTERM and SIGHUP are forwarded to the',
    'workers. When a worker exits non-zero or is killed, the others get SIGTERM (then SIGKILL after',
    '--grace-ms) and falcon launch exits non-zero naming the rank, its exit code or signal.',
    'A <command> ending in .js/.mjs/.cjs runs with this node.',
    '',
    'Options:',
    LAUNCH_OPTIONS_HELP,
    '',
    'Examples:',
    '  falcon launch --nproc-per-node 2 -- node my_job.js',
    '  falcon launch --nproc-per-node 2 -- packages/hybrid/dist/cli.js train --dp 2   (= falcon train --nproc-per-node 2 --dp 2)',
    '  two machines, 4 ranks each; on node 0 (10.0.0.1) and node 1:',
    '    falcon launch --nnodes 2 --node-rank 0 --nproc-per-node 4 --master-addr 10.0.0.1 --master-port 29500 -- packages/hybrid/dist/cli.js train --dp 8',
    '    falcon launch --nnodes 2 --node-rank 1 --nproc-per-node 4 --master-addr 10.0.0.1 --master-port 29500 -- packages/hybrid/dist/cli.js train --dp 8',
  ].join('\n'),
  async run(argv, _out) {
    let options;
    try {
      options = parseLaunchArgs(argv);
    } catch (e) {
      if (e instanceof LaunchArgsError) throw new UsageError(e.message);
      throw e;
    }
    const r = await launch(options);
    if (r.exitCode !== 0) throw new LaunchFailed(r.message, r.exitCode);
    return 0;
  },
};

/** A launched job that failed: `main` prints the message and exits with the job's code. */
export class LaunchFailed extends Error {
  /**
   * @param message - which rank failed and how
   * @param exitCode - the exit code for the launcher
   */
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'LaunchFailed';
  }
}

/**
 * Run `falcon <argv…>` in `nproc` worker processes of this node through the launcher (what
 * `falcon train --nproc-per-node N` does): the same Node, its flags (a TypeScript loader, when run
 * from source) and this CLI's entry point.
 * @param argv - the command and its options for every worker, without --nproc-per-node
 * @param nproc - worker processes
 * @returns the exit code: 0, or the failed rank's (its rank and how it failed are printed)
 */
export async function launchSelf(argv: string[], nproc: number): Promise<number> {
  const here = fileURLToPath(import.meta.url);
  const entry = join(dirname(here), '..', `cli${extname(here)}`);
  const r = await launch({ nprocPerNode: nproc, command: process.execPath, args: [...process.execArgv, entry, ...argv] });
  if (r.exitCode !== 0) throw new LaunchFailed(r.message, r.exitCode);
  return 0;
}

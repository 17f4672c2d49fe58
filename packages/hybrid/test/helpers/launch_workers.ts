// Starts a test worker (a .ts file, from source through tsx) in `n` local processes with
// @falcon/parallel's torchrun-style launch(), collecting every rank's prefixed output.
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { launch } from '@falcon/parallel';
import type { LaunchResult } from '@falcon/parallel';

const TSCONFIG = fileURLToPath(new URL('../../../../tsconfig.dev.json', import.meta.url));

/**
 * Run `worker <args>` in `n` ranks.
 * @param worker - the worker's file URL (e.g. `new URL('./worker.ts', import.meta.url)`)
 * @param n - processes (world size)
 * @param args - the worker's arguments
 * @param env - extra environment variables
 * @param graceMs - how long survivors get after a rank fails before they are killed
 * @returns the launch result and the ranks' output
 */
export async function launchWorkers(worker: URL, n: number, args: string[], env: Record<string, string> = {}, graceMs = 2000): Promise<LaunchResult & { out: string }> {
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (c: Buffer) => (out += c.toString()));
  const r = await launch({
    nprocPerNode: n,
    command: process.execPath,
    args: ['--import', 'tsx', fileURLToPath(worker), ...args],
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, ...env },
    stdout: sink,
    stderr: sink,
    forwardSignals: false,
    graceMs,
  });
  return { ...r, out };
}

// Starts test/tp/worker.ts (from source through tsx) in `n` processes with launch().
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { launch } from '@falcon/parallel';
import type { LaunchResult } from '@falcon/parallel';

const TSCONFIG = fileURLToPath(new URL('../../../../tsconfig.dev.json', import.meta.url));

/** Run `<worker>.ts <args>` of this folder in `n` ranks; resolves with the launch result and the prefixed output. */
export async function runTpWorkers(worker: string, n: number, args: string[] = []): Promise<LaunchResult & { out: string }> {
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (c: Buffer) => (out += c.toString()));
  const r = await launch({
    nprocPerNode: n,
    command: process.execPath,
    args: ['--import', 'tsx', fileURLToPath(new URL(`./${worker}.ts`, import.meta.url)), ...args],
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    stdout: sink,
    stderr: sink,
    forwardSignals: false,
    graceMs: 2000,
  });
  return { ...r, out };
}

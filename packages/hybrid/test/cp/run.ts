// Starts the context-parallel worker (worker.ts, from source through tsx) in `n` processes with launch().
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { launch } from '@falcon/parallel';
import type { CpCase } from './setup.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../../tsconfig.dev.json', import.meta.url));

/** What one rank computed for one case. */
export interface CpResult {
  loss: number;
  grads: Record<string, number[]>;
}

/** Run every case under CP = n; resolves with each rank's results (rank-major), or rejects with the output. */
export async function runCp(n: number, cases: CpCase[]): Promise<CpResult[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'falcon-cp-'));
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (c: Buffer) => (out += c.toString()));
  const r = await launch({
    nprocPerNode: n,
    command: process.execPath,
    args: ['--import', 'tsx', WORKER, dir],
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, CP_CASES: JSON.stringify(cases) },
    stdout: sink,
    stderr: sink,
    forwardSignals: false,
    graceMs: 2000,
  });
  if (r.exitCode !== 0) throw new Error(`CP${n} workers failed (exit ${r.exitCode}):\n${out}`);
  return Array.from({ length: n }, (_, i) => JSON.parse(readFileSync(join(dir, `rank${i}.json`), 'utf8')) as CpResult[]);
}

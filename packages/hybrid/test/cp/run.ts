// Starts the context-parallel worker (worker.ts, from source through tsx) in `n` processes with launch().
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchWorkers } from '../helpers/launch_workers.js';
import type { CpCase } from './setup.js';

/** What one rank computed for one case. */
export interface CpResult {
  loss: number;
  grads: Record<string, number[]>;
}

/** Run every case under CP = n; resolves with each rank's results (rank-major), or rejects with the output. */
export async function runCp(n: number, cases: CpCase[]): Promise<CpResult[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'falcon-cp-'));
  const r = await launchWorkers(new URL('./worker.ts', import.meta.url), n, [dir], { CP_CASES: JSON.stringify(cases) });
  if (r.exitCode !== 0) throw new Error(`CP${n} workers failed (exit ${r.exitCode}):\n${r.out}`);
  return Array.from({ length: n }, (_, i) => JSON.parse(readFileSync(join(dir, `rank${i}.json`), 'utf8')) as CpResult[]);
}

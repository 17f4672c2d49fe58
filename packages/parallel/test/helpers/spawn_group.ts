// Spawns a group of real Node processes (one per rank, torchrun's environment) running a worker
// script from test/workers/ from TypeScript sources (tsx's loader), and collects what each printed.
// A worker prints one line `RESULT <json>` when it is done; everything else is kept for messages.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('../..', import.meta.url));

/** What one rank did. */
export interface RankOutcome {
  rank: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The parsed `RESULT` line, if printed. */
  result?: Record<string, unknown>;
  /** ms from the start of the group to this process's exit. */
  elapsedMs: number;
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Runs `test/workers/<worker>.ts <args>` as ranks `ranks` (default all) of a world of `worldSize`.
 *
 * @param worker - file name under test/workers without `.ts`
 * @param worldSize - WORLD_SIZE
 * @param opts - extra args/env, the ranks to start (a rank left out never arrives), a kill-all timeout
 */
export async function runGroup(
  worker: string,
  worldSize: number,
  opts: { args?: string[]; env?: Record<string, string>; ranks?: number[]; killAfterMs?: number } = {},
): Promise<RankOutcome[]> {
  const port = await freePort();
  const ranks = opts.ranks ?? Array.from({ length: worldSize }, (_, i) => i);
  const t0 = Date.now();
  return Promise.all(
    ranks.map(
      (rank) =>
        new Promise<RankOutcome>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', `test/workers/${worker}.ts`, ...(opts.args ?? [])], {
            cwd: pkgDir,
            env: {
              ...process.env,
              RANK: String(rank),
              WORLD_SIZE: String(worldSize),
              LOCAL_RANK: String(rank),
              LOCAL_WORLD_SIZE: String(worldSize),
              MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: String(port),
              ...opts.env,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 100_000);
          child.on('close', (code, signal) => {
            clearTimeout(killer);
            const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
            resolve({ rank, code, signal, stdout, stderr, result: line ? JSON.parse(line.slice(7)) : undefined, elapsedMs: Date.now() - t0 });
          });
        }),
    ),
  );
}

/** A readable dump of a group's outcomes for assertion messages. */
export function dump(out: RankOutcome[]): string {
  return out.map((o) => `--- rank ${o.rank} exit ${o.code ?? o.signal}\n${o.stdout.slice(-3000)}\n${o.stderr.slice(-3000)}`).join('\n');
}

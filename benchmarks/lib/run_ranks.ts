// Runs a benchmark script again in `size` local processes, one per rank, with torchrun's environment
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) for Gloo over loopback,
// and collects the rows a rank prints as a `ROWS <json>` line.
import { spawn } from 'node:child_process';
import type { Row } from './report.js';

/**
 * Start `script --worker` in `size` ranks and wait for all of them.
 * @param script - the benchmark's file path (run through tsx)
 * @param size - world size
 * @param port - the rendezvous port (MASTER_PORT)
 * @returns the rows of the (last) rank that printed a `ROWS` line
 * @throws when a rank exits non-zero
 */
export async function runRanks(script: string, size: number, port: number): Promise<Row[]> {
  let rows: Row[] = [];
  await Promise.all(
    Array.from(
      { length: size },
      (_, rank) =>
        new Promise<void>((resolve, reject) => {
          const env = { ...process.env, RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(size), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
          const child = spawn(process.execPath, ['--import', 'tsx', script, '--worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
          let stdout = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.on('close', (code) => {
            const line = stdout.split('\n').find((l) => l.startsWith('ROWS '));
            if (line) rows = JSON.parse(line.slice(5)) as Row[];
            if (code === 0) resolve();
            else reject(new Error(`rank ${rank} of ${size} exited ${code}`));
          });
        }),
    ),
  );
  return rows;
}

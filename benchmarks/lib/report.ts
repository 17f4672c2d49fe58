// Shared benchmark plumbing: timing with warm-up, machine description, and writing results as
// JSON plus a short markdown table under benchmarks/results/.
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** What machine a result was measured on. */
export function machine(): Record<string, unknown> {
  let gpu: string | undefined;
  try {
    gpu = execSync('nvidia-smi --query-gpu=name,driver_version --format=csv,noheader', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    gpu = undefined;
  }
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadAverage1m: +os.loadavg()[0].toFixed(2),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    ...(gpu ? { gpu } : {}),
  };
}

/** Time `fn` (async allowed): `warmup` untimed runs, then `iters` timed runs; returns ms per run (median and min). */
export async function time(fn: () => unknown, { warmup = 1, iters = 5 } = {}): Promise<{ medianMs: number; minMs: number; runsMs: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], runsMs: runs };
}

/** A row of a result table: column name → value. */
export type Row = Record<string, string | number | boolean | null>;

/**
 * Write `results/<name>.json` (machine, notes, rows) and `results/<name>.md` (a table), and print the table.
 * @param name - file stem, e.g. `checkpoint-read`
 * @param dir - where to write (default benchmarks/results)
 */
export function writeResults(name: string, title: string, rows: Row[], extra: Record<string, unknown> = {}, dir: string = RESULTS_DIR): void {
  mkdirSync(dir, { recursive: true });
  const m = machine();
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, title, machine: m, ...extra, rows }, null, 2) + '\n');
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  const md = [
    `# ${title}`,
    '',
    `Machine: ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB)${m.gpu ? `, GPU ${m.gpu}` : ''}, Node ${m.node}, ${m.platform}, load average ${m.loadAverage1m} at the end. Date: ${m.date}.`,
    '',
    ...Object.entries(extra).map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
    '',
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`),
    '',
  ].join('\n');
  writeFileSync(join(dir, `${name}.md`), md);
  console.log(md);
}

// The killed-rank check (issue #18, as packages/parallel/test/faults.test.ts's 'kill' case, but through
// the launcher and on either backend): N workers all-reduce a large buffer in a loop; in the third
// round the last rank SIGKILLs itself while its collectives are in flight. Every survivor must fail on
// its own with a CollectiveError naming the op and the dead rank within the timeout (plus 15 s of
// diagnosis and start-up slack), and the launcher must exit non-zero naming the killed rank.
// The workers ignore the launcher's SIGTERM (it stops the others once one fails) so that their own
// error is seen; the launcher's grace before SIGKILL is longer than the timeout.
// nccl: cuda tensors on device LOCAL_RANK, `burst` all-reduces queued per round and the last one read
// back asynchronously (no host stream synchronisation, so the engine's watchdog runs and aborts the
// group after the timeout); a result still unread 2 s after that gets the group's error through a
// barrier. gloo: cpu tensors (the op itself fails).
//   npx tsx benchmarks/parallel/killed_rank.ts --nproc-per-node 3 --backend gloo --out /tmp/k
//   node .device/killed-rank.mjs --nproc-per-node 8 --backend nccl --out $OUT/parts   (tools/device/run-multigpu.sh)
// Writes <out>/killed-rank-<backend>-<n>.json: the verdict, the launcher's message, every survivor's report.
// Exit 0 only when the check passed. Options: --timeout-ms (10000), --elements (16777216 float32).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as pg from '@falcon/parallel';
import { initBackend, tf } from '@falcon/tensor';
import { isWorker, launchWorkers } from './self_launch.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'nccl' },
    'nproc-per-node': { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '10000' },
    elements: { type: 'string', default: String(16 * 2 ** 20) },
    out: { type: 'string', default: process.env.OUT ?? '/tmp/falcon-out' },
  },
});
const backend = o.backend as 'nccl' | 'gloo';
if (backend !== 'nccl' && backend !== 'gloo') throw new Error(`--backend must be nccl or gloo, got '${o.backend}'`);
const timeoutMs = Number(o['timeout-ms']);
const elements = Number(o.elements);
if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new Error(`--timeout-ms must be a positive integer, got '${o['timeout-ms']}'`);
if (!(Number.isInteger(elements) && elements > 0)) throw new Error(`--elements must be a positive integer, got '${o.elements}'`);
const SLACK_MS = 15_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** What a survivor reports (a `RESULT {...}` line). */
interface Report {
  rank: number;
  caught: boolean;
  op?: string;
  missingRank?: number;
  message: string;
  afterMs: number;
}

async function worker(): Promise<void> {
  process.on('SIGTERM', () => console.error('SIGTERM from the launcher: ignored, waiting for the collective to fail on its own'));
  if (backend === 'nccl') await initBackend('cuda', { device: Number(process.env.LOCAL_RANK ?? 0) });
  const world = await pg.initProcessGroup({ backend, timeoutMs });
  const victim = world.size - 1;
  const burst = backend === 'nccl' ? 4 : 1;
  const x = tf.ones([elements]);
  let t0 = Date.now();
  const report = (r: Omit<Report, 'rank'>, code: number): never => {
    console.log(`RESULT ${JSON.stringify({ rank: world.rank, ...r })}`);
    process.exit(code);
  };
  for (let round = 0; round < 1000; round++) {
    t0 = Date.now();
    try {
      let y: tf.Tensor | undefined;
      for (let k = 0; k < burst; k++) {
        y?.dispose();
        y = await pg.allReduce(x).wait();
      }
      if (world.rank === victim && round === 2) setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2);
      // read the result back without blocking the event loop (a hung stream is the watchdog's: it aborts
      // the group after the timeout); still not read by then: the group's error comes with a barrier
      const read = await Promise.race([y!.data().then(() => true), sleep(timeoutMs + 2000).then(() => false)]);
      if (!read) await pg.barrier().wait();
      y!.dispose();
    } catch (e) {
      let c = e as pg.CollectiveError;
      // another error first (a read of an aborted stream, say): the group's own error comes with its next op
      if (!(c instanceof pg.CollectiveError)) {
        try {
          pg.allReduce(x);
        } catch (e2) {
          if (e2 instanceof pg.CollectiveError) c = Object.assign(e2, { message: `${e2.message} (after: ${(e as Error).message})` });
        }
      }
      report({ caught: c instanceof pg.CollectiveError, op: c.op, missingRank: c.missingRank, message: c.message, afterMs: Date.now() - t0 }, 1);
    }
    if (Date.now() - t0 > timeoutMs + SLACK_MS) report({ caught: false, message: `round ${round} took ${Date.now() - t0} ms and no collective failed`, afterMs: Date.now() - t0 }, 2);
  }
  report({ caught: false, message: 'no collective failed in 1000 rounds', afterMs: Date.now() - t0 }, 2);
}

async function main(): Promise<number> {
  const n = Number(o['nproc-per-node']);
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`--nproc-per-node must be at least 2 (one rank is killed), got '${o['nproc-per-node']}'`);
  const victim = n - 1;
  let text = '';
  const capture = new PassThrough();
  capture.on('data', (d: Buffer) => {
    text += d.toString();
    process.stdout.write(d);
  });
  const started = Date.now();
  const r = await launchWorkers(fileURLToPath(import.meta.url), n, process.argv.slice(2), { stdout: capture, graceMs: timeoutMs + SLACK_MS + 5000 });
  const wallMs = Date.now() - started;
  const reports = text
    .split('\n')
    .map((l) => /^\[rank \d+\]: RESULT (.*)$/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined)
    .map((s) => JSON.parse(s) as Report);
  const problems: string[] = [];
  if (r.exitCode === 0) problems.push('the launcher exited 0');
  if (r.failed?.rank !== victim || r.failed.signal !== 'SIGKILL') problems.push(`the launcher named ${r.failed ? `rank ${r.failed.rank} (${r.failed.signal ?? `code ${r.failed.code}`})` : 'no rank'}, not rank ${victim} killed by SIGKILL`);
  for (let q = 0; q < victim; q++) {
    const rep = reports.find((p) => p.rank === q);
    if (!rep) problems.push(`rank ${q} reported nothing`);
    else if (!rep.caught) problems.push(`rank ${q}: ${rep.message}`);
    else {
      if (rep.missingRank !== victim) problems.push(`rank ${q}'s error names rank ${rep.missingRank}, not ${victim}: ${rep.message}`);
      if (!/rank \d+ is missing/.test(rep.message)) problems.push(`rank ${q}'s error does not say which rank is missing: ${rep.message}`);
      if (rep.afterMs > timeoutMs + SLACK_MS) problems.push(`rank ${q} failed after ${rep.afterMs} ms (limit ${timeoutMs + SLACK_MS})`);
    }
    const w = r.workers[q];
    if (w && w.code === 0 && !w.signal) problems.push(`rank ${q} exited 0`);
  }
  const verdict = { backend, ranks: n, victim, timeoutMs, limitMs: timeoutMs + SLACK_MS, passed: problems.length === 0, problems, launcher: { exitCode: r.exitCode, message: r.message }, wallMs, reports };
  mkdirSync(o.out!, { recursive: true });
  writeFileSync(join(o.out!, `killed-rank-${backend}-${n}.json`), JSON.stringify(verdict, null, 1) + '\n');
  console.log(`killed-rank check (${backend}, ${n} ranks): ${verdict.passed ? 'PASS' : `FAIL: ${problems.join('; ')}`}; launcher: exit ${r.exitCode}, ${r.message}`);
  return verdict.passed ? 0 : 1;
}

if (isWorker()) await worker();
else process.exit(await main());

// Benchmark: the two context-parallel forms of Mamba-2 on cpu (Gloo over loopback), state passing
// vs all-to-all over heads: one Mamba2Mixer's forward + backward (pre out_proj) over a sequence
// split across CP = 2 processes, at growing lengths up to what a cpu does in about a minute, next to
// the same mixer on one process over the whole sequence. Time is the slowest rank's, median of the
// timed rounds after a warm-up round. Shapes: a reduced Falcon-H1 mixer (d_model 128, 4 heads of
// 16, 1 group, state 16, chunk 64; Falcon-H1-0.5B has d_model 1024, 24 heads of 64, state 128, chunk
// 256 — the 32k/128k GPU figures are for later).
// Run from the repo root: npx tsx benchmarks/context_parallel/modes.ts   (writes benchmarks/results/cp-modes-cpu.*);
// CP_BENCH_LENGTHS=32768,131072 CP_BENCH_NAME=cp-modes-cpu-long for the long rows (CP_BENCH_ROUNDS: timed rounds, 2).
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { allToAllScan, statePassingScan } from '@falcon/hybrid';
import { Mamba2Mixer } from '@falcon/mamba2';
import { allReduceBuffer, barrier, destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { init, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';
import { runRanks } from '../lib/run_ranks.js';

const SHAPE = { dModel: 128, nHeads: 4, headDim: 16, nGroups: 1, dState: 16, chunkSize: 64, dConv: 4 };
const LENGTHS = (process.env.CP_BENCH_LENGTHS ?? '1024,4096,16384').split(',').map(Number);
const ROUNDS = Number(process.env.CP_BENCH_ROUNDS ?? 2);

async function worker(): Promise<void> {
  const world = Number(process.env.WORLD_SIZE) > 1 ? await initProcessGroup({ timeoutMs: 600_000 }) : undefined;
  const c = world?.size ?? 1;
  const mixer = new Mamba2Mixer({ ...SHAPE, rmsNorm: true, seed: 1 });
  const vars = Object.values(mixer.parameters());
  const rows: Row[] = [];
  const slowest = async (ms: number): Promise<number> => (world ? (await allReduceBuffer(new Float32Array([ms]), { op: 'max' }).wait())[0] : ms);
  for (const seqlen of LENGTHS) {
    for (const mode of c === 1 ? (['one rank'] as const) : (['state-passing', 'all-to-all'] as const)) {
      const local = seqlen / c;
      const u = init.normal([1, local, SHAPE.dModel], { seed: 2 + (world?.rank ?? 0), std: 1 });
      const core =
        mode === 'one rank' ? undefined : (xBC: Tensor, dt: Tensor, m: Mamba2Mixer) => (mode === 'all-to-all' ? allToAllScan : statePassingScan)(xBC, dt, m, world!, seqlen);
      const step = () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(mixer.forwardPreProjection(u, { core }).y)) as tf.Scalar, vars);
        tf.dispose([value, ...Object.values(grads)]);
      };
      const ms: number[] = [];
      for (let i = 0; i <= ROUNDS; i++) {
        if (world) await barrier().wait();
        const t0 = performance.now();
        step();
        const t = await slowest(performance.now() - t0);
        if (i > 0) ms.push(t);
      }
      u.dispose();
      const sorted = [...ms].sort((a, b) => a - b);
      // floats each rank sends in the forward (the backward sends as many again)
      const { nHeads: h, headDim: p, nGroups: g, dState: n, dConv: k } = SHAPE;
      const convDim = h * p + 2 * g * n;
      const sent = mode === 'state-passing' ? 2 * (k - 1) * convDim + 2 * h * (p * n + 1) * (c - 1) : mode === 'all-to-all' ? ((c - 1) / c) * local * (2 * h * p + h) + (c - 1) * local * 2 * g * n : 0;
      rows.push({ cp: c, seqlen, mode, 'fwd+bwd ms (median)': sorted[Math.floor(sorted.length / 2)], 'fwd+bwd ms (best)': sorted[0], 'floats sent per rank (forward)': Math.round(sent) });
      console.error(`[cp ${c}] ${seqlen} ${mode}: ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms`);
    }
  }
  if ((world?.rank ?? 0) === 0) console.log(`ROWS ${JSON.stringify(rows)}`);
  if (world) await destroyProcessGroup();
}

/** Rows of this benchmark run in `size` ranks (rendezvous on `port`). */
function runGroup(size: number, port: number): Promise<Row[]> {
  return runRanks(fileURLToPath(import.meta.url), size, port);
}

if (process.argv.includes('--worker')) {
  await worker();
} else {
  const before = loadavg()[0];
  const rows: Row[] = [...(await runGroup(1, 29750)), ...(await runGroup(2, 29751))];
  rows.sort((a, b) => Number(a.seqlen) - Number(b.seqlen));
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout
  }
  writeResults(process.env.CP_BENCH_NAME ?? 'cp-modes-cpu', 'Mamba-2 under context parallelism on cpu: state passing vs all-to-all over heads (CP 2, Gloo over loopback) and one rank', rows, {
    commit,
    shapes: SHAPE,
    method: `one Mamba2Mixer (gated RMSNorm, no out_proj) forward + backward (tf.variableGrads of sum(y²)), batch 1; the slowest rank's time, median of ${ROUNDS} rounds after a warm-up round; "one rank" runs the whole sequence in one process without CP`,
    'floats sent': 'per rank, forward only (the backward sends as many): state passing = the two conv halos + the chunk summaries all-gathered (independent of seqlen); all-to-all = x and dt there and y back for (c−1)/c of the local tokens, B and C all-gathered',
    command: 'npx tsx benchmarks/context_parallel/modes.ts',
    'load average (1 min) before / after': `${before.toFixed(2)} / ${loadavg()[0].toFixed(2)}`,
    note: 'this machine has 2 cores shared with other jobs (load average above); with CP 2 both ranks share those cores, so the times show the relative cost of the two forms, not a speed-up',
  });
}

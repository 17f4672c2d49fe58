// Benchmark: all-reduce, all-gather and reduce-scatter of @falcon/parallel on float32 buffers of
// 1 MiB … 1 GiB (powers of 4), each first checked against its arithmetic (collective_values.ts:
// integer values, exact sums, every element compared), then timed; bus bandwidth as nccl-tests
// defines it:
//   size   the whole buffer: all-reduce's input, all-gather's output, reduce-scatter's input (count × 4 bytes,
//          count rounded down to a multiple of the number of ranks)
//   algbw  size / time;  busbw = algbw × 2(n−1)/n (all-reduce), × (n−1)/n (all-gather, reduce-scatter)
//   time   one sample = `inner` ops queued back to back, then the stream synchronised (nccl; gloo ops
//          complete on their own), divided by `inner`; per sample the slowest rank's; the median of
//          the timed samples after `warmup` untimed ones (the first of which is the checked result)
// --backend nccl: cuda tensors (device LOCAL_RANK) through the tensor API, nothing copied to the host
// while timing; --backend gloo: host Float32Arrays through the buffer API (allReduceBuffer in place,
// reset before each sample; allGatherBuffer, reduceScatterBuffer), so it runs on any machine.
// Run as a plain command it starts itself in --nproc-per-node workers through the project's
// launcher (torchrun's environment); rank 0 writes <out>/<name>.json and .md (benchmarks/lib/report).
//   npx tsx benchmarks/parallel/collectives_bw.ts --nproc-per-node 2 --backend gloo --max-mib 4
//   node .device/collectives-bw.mjs --nproc-per-node 8 --backend nccl --out $OUT/bw   (tools/device/run-multigpu.sh)
// Options: --min-mib (1), --max-mib (1024), --warmup (2), --iters (20 up to 16 MiB, 10 above),
// --out (benchmarks/results), --name (collectives-bw-<backend>-<n>), --timeout-ms (120000), --note (a line for the results), --emulate (nccl at
// --nproc-per-node 1 over the host-memory emulations of the cuda and NCCL addons: this file's nccl path, checked here).
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as pg from '@falcon/parallel';
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend, Tensor } from '@falcon/tensor';
import { writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';
import { busFactor, firstMismatch, inputOf } from './collective_values.js';
import type { CollectiveName } from './collective_values.js';
import { isWorker, launchWorkers } from './self_launch.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'nccl' },
    'nproc-per-node': { type: 'string' },
    'min-mib': { type: 'string', default: '1' },
    'max-mib': { type: 'string', default: '1024' },
    warmup: { type: 'string', default: '2' },
    iters: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    'timeout-ms': { type: 'string', default: '120000' },
    emulate: { type: 'boolean', default: false },
    note: { type: 'string' },
  },
});

const backend = o.backend as 'nccl' | 'gloo';
if (backend !== 'nccl' && backend !== 'gloo') throw new Error(`--backend must be nccl or gloo, got '${o.backend}'`);
const num = (v: string | undefined, name: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};
const minMib = num(o['min-mib'], 'min-mib', 1);
const maxMib = num(o['max-mib'], 'max-mib', 1);
const warmup = num(o.warmup, 'warmup', 1);
const timeoutMs = num(o['timeout-ms'], 'timeout-ms', 1);
const SIZES_MIB = [1, 4, 16, 64, 256, 1024].filter((s) => s >= minMib && s <= maxMib);
if (!SIZES_MIB.length) throw new Error(`no size of 1, 4, 16, 64, 256, 1024 MiB lies in [--min-mib ${minMib}, --max-mib ${maxMib}]`);
const OPS: CollectiveName[] = ['all_reduce', 'all_gather', 'reduce_scatter'];
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** One op on this rank: `run()` starts it (the result is the output), `done()` waits for what was queued. */
interface Runner {
  run(): Promise<Tensor | Float32Array>;
  read(out: Tensor | Float32Array): Promise<ArrayLike<number>>;
  done(outs: (Tensor | Float32Array)[]): void;
  dispose(): void;
}

function runner(op: CollectiveName, x: Float32Array, cuda: CudaBackend | undefined): Runner {
  if (!cuda) {
    const fresh = op === 'all_reduce' ? Float32Array.from(x) : x; // all-reduce works in place
    return {
      run: () => (op === 'all_reduce' ? pg.allReduceBuffer(fresh).wait() : op === 'all_gather' ? pg.allGatherBuffer(x).wait() : pg.reduceScatterBuffer(x).wait()),
      read: async (out) => out as Float32Array,
      done: () => fresh.set(x),
      dispose: () => undefined,
    };
  }
  const t = tf.tensor1d(x, 'float32');
  cuda.ptr(t); // upload now: the input's copy is not the collective's time
  return {
    run: () => (op === 'all_reduce' ? pg.allReduce(t).wait() : op === 'all_gather' ? pg.allGather(t).wait() : pg.reduceScatter(t).wait()),
    read: (out) => (out as Tensor).data() as Promise<Float32Array>,
    done: (outs) => {
      cuda.synchronize();
      for (const y of outs) (y as Tensor).dispose();
    },
    dispose: () => t.dispose(),
  };
}

async function worker(): Promise<void> {
  const localRank = Number(process.env.LOCAL_RANK ?? 0);
  let cuda: CudaBackend | undefined;
  if (backend === 'nccl' && o.emulate) {
    // world size 1 over the host-memory emulations of the cuda and NCCL addons: this file's nccl path, checked anywhere
    const [{ registerEmulatedCudaBackend }, { createEmulatedNcclAddon, setNcclAddon }] = await Promise.all([import('@falcon/tensor/testing'), import('@falcon/parallel/testing')]);
    registerEmulatedCudaBackend();
    await tf.setBackend('cuda');
    cuda = tf.backend() as CudaBackend;
    setNcclAddon(createEmulatedNcclAddon(cuda.addon));
  } else if (backend === 'nccl') {
    await initBackend('cuda', { device: localRank });
    cuda = tf.backend() as CudaBackend;
  }
  const world = await pg.initProcessGroup({ backend, timeoutMs });
  const { rank, size: n } = world;
  const rows: Row[] = [];
  let wrong = 0;
  for (const mib of SIZES_MIB) {
    const count = Math.floor((mib * 2 ** 18) / n) * n; // float32 elements, a multiple of n
    const bytes = count * 4;
    const iters = o.iters !== undefined ? num(o.iters, 'iters', 1) : mib <= 16 ? 20 : 10;
    const inner = cuda ? Math.max(1, Math.min(16, Math.floor(64 / mib))) : 1;
    for (const op of OPS) {
      const r = runner(op, inputOf(op, rank, count, n), cuda);
      const samples: number[] = [];
      let mismatch: string | undefined;
      for (let s = 0; s < warmup + iters; s++) {
        await pg.barrier().wait();
        const t0 = performance.now();
        const outs: (Tensor | Float32Array)[] = [];
        for (let k = 0; k < inner; k++) outs.push(await r.run());
        if (s === 0) mismatch = firstMismatch(op, rank, count, n, await r.read(outs[0]));
        r.done(outs);
        if (s >= warmup) samples.push((performance.now() - t0) / inner);
      }
      r.dispose();
      // every rank's samples, then per sample the slowest rank; and whether every rank's check passed
      const all = await pg.allGatherBuffer(Float32Array.from([...samples, mismatch ? 1 : 0])).wait();
      const w = samples.length + 1;
      const slowest = samples.map((_, i) => Math.max(...Array.from({ length: n }, (_, q) => all[q * w + i])));
      const badRanks = Array.from({ length: n }, (_, q) => q).filter((q) => all[q * w + samples.length] !== 0);
      if (mismatch) console.error(`${op} ${mib} MiB: WRONG on rank ${rank}: ${mismatch}`);
      if (badRanks.length) wrong++;
      const ms = median(slowest);
      const algbw = bytes / (ms / 1e3) / 1e9;
      rows.push({
        op,
        ranks: n,
        'size MiB': mib,
        bytes,
        correct: badRanks.length === 0,
        'time ms (median)': ms,
        'time ms (best)': Math.min(...slowest),
        'algbw GB/s': algbw,
        'busbw GB/s': algbw * busFactor(op, n),
        samples: slowest.length,
        inner,
      });
      if (rank === 0) console.log(`${op} ${mib} MiB × ${n} ranks: ${ms.toFixed(3)} ms, busbw ${(algbw * busFactor(op, n)).toFixed(2)} GB/s${badRanks.length ? `, WRONG on ranks ${badRanks.join(',')}` : ', correct'}`);
    }
  }
  if (rank === 0) {
    // the runner's record of the commit first (the device's tree may be another repository or none)
    let commit = process.env.FALCON_COMMIT ?? 'unknown';
    if (!process.env.FALCON_COMMIT) {
      try {
        commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
      } catch {
        // not a git checkout
      }
    }
    const name = o.name ?? `collectives-bw-${backend}-${n}`;
    writeResults(name, `All-reduce / all-gather / reduce-scatter bus bandwidth, ${backend}, ${n} ranks`, rows, {
      commit,
      backend,
      ranks: n,
      method: `${backend === 'nccl' ? 'cuda tensors (device = LOCAL_RANK), tensor API' : 'host Float32Arrays, buffer API'}; first warm-up result checked element for element against exact integer arithmetic; each sample = inner ops queued then ${backend === 'nccl' ? 'the stream synchronised' : 'awaited'}, divided by inner; slowest rank per sample; median of the timed samples after ${warmup} warm-up`,
      'busbw GB/s': 'size / time × 2(n−1)/n (all-reduce), × (n−1)/n (all-gather: size = the output; reduce-scatter: size = the input); GB = 1e9 bytes',
      NCCL: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('NCCL_'))),
      command: `npx tsx benchmarks/parallel/collectives_bw.ts --nproc-per-node ${n} ${process.argv.slice(2).filter((a, i, all) => a !== '--note' && all[i - 1] !== '--note').join(' ')}`,
      ...(o.note ? { note: o.note } : {}),
    }, o.out);
  }
  await pg.destroyProcessGroup();
  if (wrong) {
    console.error(`${wrong} result(s) wrong`);
    process.exit(1);
  }
}

if (isWorker()) {
  await worker();
} else {
  const nproc = num(o['nproc-per-node'] ?? '2', 'nproc-per-node', 1);
  const r = await launchWorkers(fileURLToPath(import.meta.url), nproc, process.argv.slice(2));
  if (r.exitCode !== 0) console.error(`collectives_bw: ${r.message}`);
  process.exit(r.exitCode);
}

// Data-parallel training throughput per GPU at Falcon-H1-0.5B shapes (benchmarks/lib/model_shapes.ts),
// as benchmarks/cuda/profile-step.ts times a step: each rank holds --batch sequences of --seqlen
// tokens (the global batch is --batch × ranks, weak scaling), one warm-up step, then the median of
// --timed steps. One rank: the plain Trainer (the single-GPU figure); several: DataParallelTrainer
// over NCCL (gradients all-reduced in 25 MiB buckets, AdamW replicated), device = LOCAL_RANK.
// tokens/s per GPU = global tokens/s / ranks; the scaling efficiency is that over the 1-GPU figure.
// --backend cpu runs the same over Gloo on cpu tensors (a smoke test of the script on small shapes).
//   node .device/dp-train.mjs --nproc-per-node 8 --out $OUT/parts   (tools/device/run-multigpu.sh)
//   npx tsx benchmarks/parallel/dp_train.ts --nproc-per-node 2 --backend cpu --layers 1 --batch 1 --seqlen 16 --timed 1 --out /tmp/dp
// Rank 0 writes <out>/dp-train-<backend>-<n>.json. Options: --model (0.5b), --layers (the model's
// depth), --batch (4), --seqlen (2048), --timed (3), --recompute (none), --precision (tf32).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DataParallelTrainer, FalconH1ForCausalLM, hybridConfig, TokenBatches, Trainer } from '@falcon/hybrid';
import type { RecomputePolicy, StepMetrics } from '@falcon/hybrid';
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend } from '@falcon/tensor';
import { modelShape } from '../lib/model_shapes.js';
import { isWorker, launchWorkers } from './self_launch.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cuda' },
    'nproc-per-node': { type: 'string', default: '1' },
    model: { type: 'string', default: '0.5b' },
    layers: { type: 'string' },
    batch: { type: 'string', default: '4' },
    seqlen: { type: 'string', default: '2048' },
    timed: { type: 'string', default: '3' },
    recompute: { type: 'string', default: 'none' },
    precision: { type: 'string', default: 'tf32' },
    out: { type: 'string', default: process.env.OUT ?? '/tmp/falcon-out' },
  },
});
const int = (v: string | undefined, name: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
const backend = o.backend as 'cuda' | 'cpu';
if (backend !== 'cuda' && backend !== 'cpu') throw new Error(`--backend must be cuda or cpu, got '${o.backend}'`);
const batch = int(o.batch, 'batch');
const seqlen = int(o.seqlen, 'seqlen');
const timed = int(o.timed, 'timed');
const layers = o.layers === undefined ? undefined : int(o.layers, 'layers');
const precision = o.precision as 'tf32' | 'bf16' | 'f32';
if (!['tf32', 'bf16', 'f32'].includes(precision)) throw new Error(`--precision must be tf32, bf16 or f32, got '${o.precision}'`);
const recompute = o.recompute as RecomputePolicy;

async function worker(): Promise<void> {
  const n = Number(process.env.WORLD_SIZE);
  if (backend === 'cuda') await initBackend('cuda', { device: Number(process.env.LOCAL_RANK ?? 0), matmulPrecision: precision });
  else await initBackend('cpu');
  const group = n > 1 ? await initProcessGroup({ backend: backend === 'cuda' ? 'nccl' : 'gloo' }) : undefined;
  const rank = group?.rank ?? 0;
  const shape = modelShape(o.model!, layers);
  const model = new FalconH1ForCausalLM(hybridConfig(shape.config, { layers: shape.layers }), 0);
  const parameters = Object.values(model.variables()).reduce((s, v) => s + v.size, 0);
  const global = batch * n;
  const tokens = Int32Array.from({ length: global * seqlen * (timed + 2) + 1 }, (_, i) => (i * 104729 + 7) % (shape.config.vocab_size as number));
  const data = new TokenBatches(tokens, global, seqlen, 0);
  const dir = `/tmp/falcon-dp-train-${rank}`;
  const options = { steps: 100, lr: 1e-4, recompute };
  const trainer = group ? new DataParallelTrainer(model, data, options, dir, { group }) : new Trainer(model, data, options, dir);
  const step = (): Promise<StepMetrics> => (trainer instanceof DataParallelTrainer ? trainer.trainStepAsync() : trainer.trainStep());
  const cuda = backend === 'cuda' ? (tf.backend() as CudaBackend) : undefined;
  cuda?.resetPeakMemory();
  const warm = await step();
  const steps: StepMetrics[] = [];
  for (let s = 0; s < timed; s++) steps.push(await step());
  const sorted = [...steps].sort((a, b) => a.tokensPerSec - b.tokensPerSec);
  const median = sorted[Math.floor(sorted.length / 2)];
  const peakGiB = cuda ? (cuda.memory() as unknown as { peakBytesInUse: number }).peakBytesInUse / 2 ** 30 : null;
  const row = {
    backend,
    ranks: n,
    model: o.model,
    layers: shape.config.num_hidden_layers,
    parameters,
    batchPerRank: batch,
    globalBatch: global,
    seqlen,
    recompute,
    precision,
    warmupS: warm.tokens / warm.tokensPerSec,
    stepS: median.tokens / median.tokensPerSec,
    tokensPerS: median.tokensPerSec,
    tokensPerSPerGpu: median.tokensPerSec / n,
    losses: [warm.loss, ...steps.map((m) => m.loss)],
    peakGiB,
    date: new Date().toISOString(),
  };
  if (rank === 0) {
    console.log(`dp-train ${o.model} ${row.layers} layers, ${n} rank(s) × ${batch} × ${seqlen}: step ${row.stepS.toFixed(3)} s, ${row.tokensPerS.toFixed(0)} tok/s = ${row.tokensPerSPerGpu.toFixed(0)} tok/s per GPU, peak ${peakGiB?.toFixed(2) ?? '-'} GiB`);
    mkdirSync(o.out!, { recursive: true });
    writeFileSync(join(o.out!, `dp-train-${backend}-${n}.json`), JSON.stringify(row, null, 1) + '\n');
  }
  trainer.dispose();
  model.dispose();
  if (group) await destroyProcessGroup();
}

if (isWorker()) {
  await worker();
} else {
  const r = await launchWorkers(fileURLToPath(import.meta.url), int(o['nproc-per-node'], 'nproc-per-node'), process.argv.slice(2));
  if (r.exitCode !== 0) console.error(`dp_train: ${r.message}`);
  process.exit(r.exitCode);
}

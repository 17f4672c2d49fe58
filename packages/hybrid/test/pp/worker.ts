// A pipeline-parallel worker for the PP tests, started by launch() (RANK, WORLD_SIZE, ... set); the
// world is `pp` stages (default WORLD_SIZE) × WORLD_SIZE / pp data-parallel replicas (initializeModelParallel):
//   worker.ts grads <outDir> <case json>   one pipelined value-and-grads of the global batch; writes
//                                          rank<r>.json with the loss (last stage) and the stage's gradients
//   worker.ts train <outDir> <case json>   the PipelineTrainer's 20 steps; writes rank<r>.json with the metrics
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyProcessGroup, groupTransport, initializeModelParallel, initProcessGroup } from '@falcon/parallel';
import { FalconH1PipelineStage, PipelineTrainer, pipelineValueAndGrads } from '../../src/index.js';
import type { RecomputePolicy } from '../../src/index.js';
import { batches, config, OPTIONS, SEED, values } from './setup.js';
import type { Variant } from './setup.js';

/** What a test asks a worker to run. */
export interface WorkerCase extends Variant {
  /** Pipeline stages (default the world size; the rest of the world is data-parallel). */
  pp?: number;
  /** Training steps (default those of OPTIONS). */
  steps?: number;
  /** What a stage keeps for its backward (default its forward's tape). */
  stash?: 'activations' | 'inputs';
  chunks?: number;
  counts?: number[];
  recompute?: RecomputePolicy;
  microbatches?: number;
}

const [mode, outDir, json] = process.argv.slice(2);
const c = JSON.parse(json) as WorkerCase;
const world = await initProcessGroup({ backend: 'gloo', timeoutMs: 60_000 });
const groups = await initializeModelParallel({ pp: c.pp ?? world.size });
const transport = groupTransport(groups.pp);
const stage = new FalconH1PipelineStage(config(c), { stages: groups.pp.size, stage: groups.pp.rank, chunks: c.chunks, layerCounts: c.counts, seed: SEED });
const microbatches = c.microbatches ?? 4;
let out: unknown;
if (mode === 'grads') {
  const { inputIds } = batches().batch(0);
  const r = await pipelineValueAndGrads(stage, { inputIds }, { microbatches, transport, recompute: c.recompute, stash: c.stash });
  out = { loss: r.loss ? r.loss.dataSync()[0] : null, grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, values(g)])) };
} else if (mode === 'train') {
  const t = new PipelineTrainer(stage, batches(), { ...OPTIONS, steps: c.steps ?? OPTIONS.steps }, { microbatches: groups.dp.size > 1 ? microbatches / groups.dp.size : microbatches, transport, dataParallel: groups.dp, bucketMb: 0.01 });
  out = { metrics: await t.run() };
} else throw new Error(`unknown mode ${mode}`);
writeFileSync(join(outDir, `rank${world.rank}.json`), JSON.stringify(out));
await destroyProcessGroup();

// A rank of the distributed checkpoint tests, started by launch() (RANK, WORLD_SIZE, ... set); every
// rank saves its own shards with saveDistributedCheckpoint over Gloo:
//   worker.ts random <runDir> <seed> <step>    the random case of cases.ts: rank r saves its specs' shards (+ moments)
//   worker.ts model <runDir> <tp> <pp> <step>  the falcon-h1-tiny fixture under TP × PP (weights + moments)
//   worker.ts train <runDir> <steps>           trains the dp/setup model <steps> steps (every rank the same),
//                                              then saves its TP2 shards of the weights and AdamW's moments
// FALCON_TEST_KILL_AT kill points apply as in the trainer.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packTernary } from '@falcon/bitnet';
import { destroyProcessGroup, initProcessGroup, localShape, takeShard } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { FalconH1ForCausalLM, optimizerStateToHf, saveDistributedCheckpoint, Trainer } from '../../src/index.js';
import type { DistributedTrainerState, HybridConfig, TrainerOptimizer } from '../../src/index.js';
import { sha256 } from '../../src/train/durable.js';
import { batches, CONFIG, OPTIONS } from '../dp/setup.js';
import { fullTensor, layoutPlan, moments, randomCase } from './cases.js';

const FIXTURE = fileURLToPath(new URL('../../../../fixtures/falcon-h1-tiny/', import.meta.url));

const [mode, dir, ...args] = process.argv.slice(2);
const group = await initProcessGroup({ backend: 'gloo', timeoutMs: 30_000 });
const rank = group.rank;

/** A trainer state for saves that are not a trainer's. */
function dummyState(step: number): DistributedTrainerState {
  return { step, optimizerStep: step, options: { lr: 1e-3 }, data: { seed: 1, batchSize: 2, seqlen: 8, tokens: 100, sha256: '0'.repeat(64) }, rng: { seed: 42 } };
}

/** Cut every weight (and its moments, `m.`/`v.`) of `full` by the plan. */
function cut(plan: ShardPlan, full: Record<string, Tensor>, slots?: Record<string, Tensor>): { weights: Record<string, Tensor>; optimizer: Record<string, Tensor> } {
  const weights: Record<string, Tensor> = {};
  const optimizer: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(plan)) {
    weights[name] = takeShard(full[name], spec);
    for (const slot of ['m', 'v']) {
      const src = slots?.[`${slot}.${name}`] ?? moments(full[name])[slot as 'm' | 'v'];
      optimizer[`${slot}.${name}`] = takeShard(src, spec);
    }
  }
  return { weights, optimizer };
}

async function saveModel(config: HybridConfig, full: Record<string, Tensor>, shapes: Map<string, number[]>, tp: number, pp: number, step: number, state: DistributedTrainerState, slots?: Record<string, Tensor>) {
  const plan = layoutPlan(config, shapes, { tp, pp }, rank);
  const { weights, optimizer } = cut(plan, full, slots);
  await saveDistributedCheckpoint(dir, { step, plan, weights, optimizer, state, config, sizes: { tp, pp } });
}

if (mode === 'random') {
  const [seed, step] = args.map(Number);
  const plan: ShardPlan = {};
  const weights: Record<string, Tensor | Uint8Array> = {};
  const optimizer: Record<string, Tensor> = {};
  for (const t of randomCase(seed, group.size)) {
    const spec = t.specs[rank];
    plan[t.name] = spec;
    const full = fullTensor(t);
    const local = takeShard(full, spec);
    if (t.ternary) {
      const [rows, cols] = localShape(spec);
      weights[t.name] = packTernary(local.dataSync(), rows, cols);
    } else {
      weights[t.name] = local;
      if (t.dtype === 'float32') {
        const { m, v } = moments(full);
        optimizer[`m.${t.name}`] = takeShard(m, spec);
        optimizer[`v.${t.name}`] = takeShard(v, spec);
      }
    }
  }
  await saveDistributedCheckpoint(dir, { step, plan, weights, optimizer, state: dummyState(step), config: CONFIG, sizes: { tp: group.size } });
} else if (mode === 'model') {
  const [tp, pp, step] = args.map(Number);
  const model = await FalconH1ForCausalLM.fromPretrained(FIXTURE);
  await saveModel(model.config, model.stateDict(), model.stateDictShapes(), tp, pp, step, dummyState(step));
} else if (mode === 'train') {
  const steps = Number(args[0]);
  class OpenTrainer extends Trainer {
    get opt(): TrainerOptimizer {
      return this.optimizer;
    }
  }
  const model = new FalconH1ForCausalLM(CONFIG, 1);
  const data = batches();
  const trainer = new OpenTrainer(model, data, OPTIONS, join(dir, 'unused'));
  for (let s = 0; s < steps; s++) await trainer.trainStep();
  const st = trainer.opt.state();
  const state: DistributedTrainerState = {
    step: trainer.step,
    optimizerStep: st.step,
    options: { ...OPTIONS },
    data: { seed: data.seed, batchSize: data.batchSize, seqlen: data.seqlen, tokens: data.tokens.length, sha256: sha256(data.tokens) },
    rng: { dataSeed: data.seed },
  };
  await saveModel(CONFIG, model.stateDict(), model.stateDictShapes(), 2, 1, trainer.step, state, optimizerStateToHf(model, st.tensors));
}
tf.disposeVariables();
await destroyProcessGroup();

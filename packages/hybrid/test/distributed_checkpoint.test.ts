// Distributed checkpoints saved by real processes (Gloo over loopback, workers started by launch(),
// each rank writing its own shards): random layouts saved by 2 and 4 ranks load under other random
// layouts and under one rank as exactly the target's slices (packed ternary ones re-packed);
// training state saved under TP2 resumes on one rank with the uninterrupted run's losses. The
// Falcon-H1 layouts (TP2, PP2, TP2×PP2) and crashes are in distributed_checkpoint_layouts.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packedWeightTensor, packTernary } from '@falcon/bitnet';
import { localShape, replicated, takeShard } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { FalconH1ForCausalLM, loadDistributedCheckpoint, restoreFromDistributed, Trainer } from '../src/index.js';
import type { TrainerOptimizer } from '../src/index.js';
import { batches, CONFIG, OPTIONS } from './dp/setup.js';
import { fullTensor, moments, randomCase, randomTargets } from './dcp/cases.js';
import { runWorkers } from './dcp/run.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `falcon-dcp-${p}-`));
const arr = async (t: Tensor) => Array.from(await t.data());

describe('distributed checkpoints of random layouts saved by several processes (Gloo)', () => {
  for (const [seed, world] of [
    [11, 2],
    [12, 4],
  ]) {
    it(`random layouts saved by ${world} ranks load under other layouts and one rank as the exact slices`, async () => {
      const dir = tmp('random');
      const r = await runWorkers(world, ['random', dir, String(seed), '5']);
      expect(r.exitCode, r.out).toBe(0);
      const tensors = randomCase(seed, world);
      const one: ShardPlan = Object.fromEntries(tensors.map((t) => [t.name, { ...replicated(t.shape), ...(t.ternary ? { encoding: 'ternary2' as const } : {}) }]));
      const unpacked: ShardPlan = Object.fromEntries(tensors.map((t) => [t.name, replicated(t.shape)]));
      let checked = 0;
      for (const plans of [[one], [unpacked], randomTargets(seed, tensors, 2), randomTargets(seed, tensors, 3)]) {
        for (const [rank, plan] of plans.entries()) {
          const got = await loadDistributedCheckpoint(dir, { plan, optimizer: true, prefer: rank % world });
          expect(got.step).toBe(5);
          for (const t of tensors) {
            const spec = plan[t.name];
            const want = takeShard(fullTensor(t), spec);
            if (spec.encoding === 'ternary2') {
              const [rows, cols] = localShape(spec);
              expect(await arr(got.weights[t.name]), t.name).toEqual(await arr(packedWeightTensor(packTernary(await want.data(), rows, cols))));
            } else {
              expect(got.weights[t.name].dtype).toBe(t.dtype);
              expect(await arr(got.weights[t.name]), t.name).toEqual(await arr(want));
            }
            if (!t.ternary && t.dtype === 'float32') {
              const { m } = moments(fullTensor(t));
              expect(await arr(got.optimizer[`m.${t.name}`]), `m.${t.name}`).toEqual(await arr(takeShard(m, spec)));
            } else expect(got.optimizer[`m.${t.name}`]).toBeUndefined();
            checked++;
          }
          tf.dispose([...Object.values(got.weights), ...Object.values(got.optimizer)]);
        }
      }
      expect(checked).toBe(tensors.length * 7);
    });
  }

  it('training state saved under TP2 (KV heads replicated, tied embeddings) resumes on one rank with the losses of an uninterrupted run', async () => {
    const options = { ...OPTIONS, steps: 6 };
    const whole = new Trainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), options, '/nonexistent');
    const want: number[] = [];
    for (let s = 0; s < 6; s++) want.push((await whole.trainStep()).loss);
    const dir = tmp('train');
    const r = await runWorkers(2, ['train', dir, '3']);
    expect(r.exitCode, r.out).toBe(0);
    class OpenTrainer extends Trainer {
      get opt(): TrainerOptimizer {
        return this.optimizer;
      }
    }
    const t = new OpenTrainer(new FalconH1ForCausalLM(CONFIG, 9), batches(), options, '/nonexistent');
    const ckpt = await restoreFromDistributed(dir, t.model, t.opt);
    expect(ckpt.manifest.sizes.tp).toBe(2);
    expect(ckpt.state.rng).toEqual({ dataSeed: 5 });
    t.step = ckpt.state.step;
    const got: number[] = [];
    for (let s = 3; s < 6; s++) got.push((await t.trainStep()).loss);
    // the workers ran the one-rank arithmetic; the restore copies it: bit for bit
    expect(got).toEqual(want.slice(3));
  });
});

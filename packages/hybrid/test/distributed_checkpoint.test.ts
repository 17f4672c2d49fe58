// Distributed checkpoints saved by real processes (Gloo over loopback, workers started by launch(),
// each rank writing its own shards): random layouts saved by 2 and 4 ranks load under other random
// layouts and under one rank as exactly the target's slices (packed ternary ones re-packed); the
// falcon-h1-tiny model saved under TP2, PP2 and TP2×PP2 loads under one rank with its logits and
// under other layouts (PP2, CP2, TP2) with the exact cuts of its weights and moments; a crash between
// the rank files and the manifest leaves the previous checkpoint the one loaded; a missing rank file
// is named; training state saved under TP2 resumes on one rank with the uninterrupted run's losses.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedWeightTensor, packTernary } from '@falcon/bitnet';
import { localShape, replicated, takeShard } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM, loadDistributedCheckpoint, loadModelFromDistributed, modelPlan, restoreFromDistributed, Trainer } from '../src/index.js';
import type { TrainerOptimizer } from '../src/index.js';
import { readLatest } from '../src/train/latest.js';
import { fixtureDir, readFixture } from './fixtures.js';
import { batches, CONFIG, OPTIONS } from './dp/setup.js';
import { fullTensor, layoutPlan, moments, randomCase, randomTargets } from './dcp/cases.js';
import { runWorkers } from './dcp/run.js';

const FIXTURE = fixtureDir('falcon-h1-tiny');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `falcon-dcp-${p}-`));
const arr = async (t: Tensor) => Array.from(await t.data());

let model: FalconH1ForCausalLM;
let ids: Tensor2D;
let logits: number[];

async function logitsOf(m: FalconH1ForCausalLM): Promise<number[]> {
  const { logits: l } = m.forward(ids);
  const out = await arr(l);
  l.dispose();
  return out;
}

beforeAll(async () => {
  model = await FalconH1ForCausalLM.fromPretrained(FIXTURE);
  ids = (await readFixture('falcon-h1-tiny', 'reference.safetensors')).get('input_ids') as Tensor2D;
  logits = await logitsOf(model);
});

/** Loading `plan` from `dir` gives exactly the plan's cuts of the fixture's weights and of their moments. */
async function expectCuts(dir: string, plan: ShardPlan, prefer: number): Promise<void> {
  const got = await loadDistributedCheckpoint(dir, { plan, optimizer: true, prefer, config: model.config });
  const full = model.stateDict();
  expect(Object.keys(got.weights).sort()).toEqual(Object.keys(plan).sort());
  for (const [name, spec] of Object.entries(plan)) {
    // pure copies: bit for bit
    expect(await arr(got.weights[name]), name).toEqual(await arr(takeShard(full[name], spec)));
    const { m, v } = moments(full[name]);
    expect(await arr(got.optimizer[`m.${name}`]), `m.${name}`).toEqual(await arr(takeShard(m, spec)));
    expect(await arr(got.optimizer[`v.${name}`]), `v.${name}`).toEqual(await arr(takeShard(v, spec)));
  }
  tf.dispose([...Object.values(got.weights), ...Object.values(got.optimizer)]);
}

describe('distributed checkpoints saved by several processes (Gloo)', () => {
  for (const [seed, world] of [
    [11, 2],
    [13, 4],
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

  it('Falcon-H1 saved under TP2 loads under one rank with equal logits and under PP2 with the exact cuts; a crash before the manifest leaves it the latest', async () => {
    const dir = tmp('tp2');
    let r = await runWorkers(2, ['model', dir, '2', '1', '1']);
    expect(r.exitCode, r.out).toBe(0);
    const { model: back, checkpoint } = await loadModelFromDistributed(dir);
    expect(await logitsOf(back)).toEqual(logits);
    back.dispose();
    expect(checkpoint.manifest.sizes).toEqual({ tp: 2, cp: 1, pp: 1, dp: 1 });
    expect(readdirSync(checkpoint.dir).sort()).toEqual(['layout.json', 'rank-00000.safetensors', 'rank-00001.safetensors']);
    for (let stage = 0; stage < 2; stage++) await expectCuts(dir, layoutPlan(model.config, model.stateDictShapes(), { tp: 1, pp: 2 }, stage), stage);

    // a rank file missing from a copy of it
    const copy = tmp('tp2-copy');
    cpSync(checkpoint.dir, copy, { recursive: true });
    rmSync(join(copy, 'rank-00001.safetensors'));
    await expect(loadModelFromDistributed(copy)).rejects.toThrow(/rank-00001\.safetensors \(rank 1's shards\) is missing/);

    // step 2 killed after both rank files, before the manifest (rank 0 dies; rank 1's collective fails)
    for (const point of ['before:layout.json@2', 'write:rank-00001.safetensors@2']) {
      r = await runWorkers(2, ['model', dir, '2', '1', '2'], { FALCON_TEST_KILL_AT: point });
      expect(r.exitCode, r.out).not.toBe(0);
      expect((await readLatest(dir))?.step, point).toBe(1);
      const again = await loadModelFromDistributed(dir);
      expect(again.checkpoint.step).toBe(1);
      expect(await logitsOf(again.model)).toEqual(logits);
      again.model.dispose();
      const left = readdirSync(dir).filter((f) => f.startsWith('.checkpoint-2.tmp-'));
      expect(left.length, point).toBeGreaterThan(0);
      await expect(loadModelFromDistributed(join(dir, left[0]))).rejects.toThrow(/is not a complete distributed checkpoint: layout\.json is missing \(the save was interrupted/);
      for (const f of left) rmSync(join(dir, f), { recursive: true });
    }
  });

  it('Falcon-H1 saved under PP2 and under TP2×PP2 loads under one rank with equal logits, and under CP2 and TP2 with the exact cuts', async () => {
    for (const [tp, pp] of [
      [1, 2],
      [2, 2],
    ]) {
      const dir = tmp(`tp${tp}pp${pp}`);
      const r = await runWorkers(tp * pp, ['model', dir, String(tp), String(pp), '4']);
      expect(r.exitCode, r.out).toBe(0);
      const { model: back, checkpoint } = await loadModelFromDistributed(dir);
      expect(checkpoint.manifest.sizes).toEqual({ tp, cp: 1, pp, dp: 1 });
      expect(await logitsOf(back)).toEqual(logits);
      back.dispose();
      if (tp === 2) {
        // CP2: every rank holds the whole model; TP2: the other tensor-parallel cut of every weight
        for (let rank = 0; rank < 2; rank++) await expectCuts(dir, modelPlan(model), rank);
        for (let rank = 0; rank < 2; rank++) await expectCuts(dir, layoutPlan(model.config, model.stateDictShapes(), { tp: 2, pp: 1 }, rank), rank);
      }
    }
  });

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

// Distributed checkpoints of the falcon-h1-tiny model saved by real processes (Gloo over loopback,
// workers started by launch()) under TP2, PP2 and TP2×PP2 (synthetic plans, dcp/cases.ts): each
// loads under one rank with the model's logits and under other layouts (PP2, CP2, TP2) with the
// exact cuts of its weights and moments; a crash between the rank files and the manifest leaves the
// previous checkpoint the one loaded; a missing rank file is named.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { takeShard } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { exportHuggingFace, FalconH1ForCausalLM, loadDistributedCheckpoint, loadModelFromDistributed, modelPlan } from '../src/index.js';
import { readLatest } from '../src/train/latest.js';
import { fixtureDir, readFixture } from './fixtures.js';
import { layoutPlan, moments } from './dcp/cases.js';
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

describe('Falcon-H1 distributed checkpoints under TP, PP and TP×PP (Gloo)', () => {
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
      expect(left.length, point).toBe(1);
      // killed before the manifest, both rank files are complete; killed inside rank 1's file, that
      // file never appeared (rank 0's may or may not have, as the launcher stops it)
      const files = readdirSync(join(dir, left[0])).filter((f) => !f.startsWith('.'));
      if (point.startsWith('before')) expect(files.sort()).toEqual(['rank-00000.safetensors', 'rank-00001.safetensors']);
      else expect(files.filter((f) => f !== 'rank-00000.safetensors')).toEqual([]);
      await expect(loadModelFromDistributed(join(dir, left[0]))).rejects.toThrow(/is not a complete distributed checkpoint: layout\.json is missing \(the save was interrupted/);
      for (const f of left) rmSync(join(dir, f), { recursive: true });
    }
  });

  it('Falcon-H1 saved under PP2 and under TP2×PP2 loads under one rank and exports with equal logits, and loads under CP2 and TP2 with the exact cuts', async () => {
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
      // and exported as one Hugging Face checkpoint (what `falcon export` writes)
      const out = tmp(`export-tp${tp}pp${pp}`);
      await exportHuggingFace(dir, out);
      const hf = await FalconH1ForCausalLM.fromPretrained(out);
      expect(await logitsOf(hf)).toEqual(logits);
      hf.dispose();
      if (tp === 2) {
        // CP2: every rank holds the whole model; TP2: the other tensor-parallel cut of every weight
        for (let rank = 0; rank < 2; rank++) await expectCuts(dir, modelPlan(model), rank);
        for (let rank = 0; rank < 2; rank++) await expectCuts(dir, layoutPlan(model.config, model.stateDictShapes(), { tp: 2, pp: 1 }, rank), rank);
      }
    }
  });

});

// ComposedTrainer under TP2×PP2 (4 Gloo processes): 20 training steps give the one-rank Trainer's
// losses; a run stopped after 10 steps (distributed checkpoint at step 10, manifest last) and
// resumed in new processes gives the uninterrupted run's losses.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FalconH1ForCausalLM, loadModelFromDistributed, readDistributedCheckpoint, Trainer } from '../src/index.js';
import { launchWorkers } from './helpers/launch_workers.js';
import { batches, configOf, SEED, TRAIN } from './mp/cases.js';

const WORKER = new URL('./mp/worker.ts', import.meta.url);
type Losses = { from: number; losses: number[]; norms: number[] };

async function train(runDir: string, stopAfter: number, resume = false): Promise<Losses> {
  const out = mkdtempSync(join(tmpdir(), 'falcon-mp-train-'));
  const r = await launchWorkers(WORKER, 4, ['train', out, runDir, String(stopAfter), ...(resume ? ['resume'] : [])]);
  expect(r.exitCode, r.out).toBe(0);
  return JSON.parse(readFileSync(join(out, 'losses.json'), 'utf8')) as Losses;
}

describe('ComposedTrainer (TP2×PP2, 4 processes, Gloo)', () => {
  it('20 steps give the one-rank losses; stopped at step 10 and resumed, the uninterrupted losses', async () => {
    const t = new Trainer(new FalconH1ForCausalLM(configOf({ config: 'groups1', bitnet: false }), SEED), batches(), TRAIN, '/nonexistent');
    const want: number[] = [];
    for (let i = 0; i < TRAIN.steps; i++) want.push((await t.trainStep()).loss);
    const whole = await train(mkdtempSync(join(tmpdir(), 'falcon-mp-run-')), 100);
    expect(whole.losses).toHaveLength(20);
    // float32, other summation orders in every step (microbatches, vocab shards), compounding over 20 AdamW steps
    whole.losses.forEach((l, i) => expect(Math.abs(l - want[i]) / want[i], `step ${i + 1}`).toBeLessThan(1e-5));
    expect(whole.losses[19]).toBeLessThan(whole.losses[0]);

    const dir = mkdtempSync(join(tmpdir(), 'falcon-mp-run-'));
    const first = await train(dir, 10);
    expect(first.losses).toEqual(whole.losses.slice(0, 10));
    const ckpt = await readDistributedCheckpoint(dir);
    expect(ckpt.manifest.step).toBe(10);
    expect(ckpt.manifest.sizes).toMatchObject({ tp: 2, pp: 2, cp: 1, dp: 1 });
    // the TP2×PP2 pieces re-sharded into one rank: its loss on step 11's batch is the run's
    const { model: one } = await loadModelFromDistributed(dir);
    const { inputIds } = batches().batch(10);
    const l11 = one.valueAndGrads(inputIds).loss.dataSync()[0];
    // float32, other summation orders than the 4-process step
    expect(Math.abs(l11 - whole.losses[10]) / whole.losses[10]).toBeLessThan(1e-5);
    one.dispose();
    const rest = await train(dir, 100, true);
    expect(rest.from).toBe(10);
    // exact resume: the same arithmetic from the same weights and moments
    expect(rest.losses).toEqual(whole.losses.slice(10));
  }, 240_000);
});

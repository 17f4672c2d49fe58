// Data parallelism with real processes (Gloo over loopback, the workers started by launch()): a
// DP=2 step equals the DP=1 step on the same global batch (loss, every averaged gradient, the
// updated parameters, AdamW's state), with and without ZeRO-1; runs of several steps give the DP=1
// losses; a DP=2 run stopped and resumed gives exactly the losses of an uninterrupted one.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@falcon/tensor';
import { FalconH1ForCausalLM, Trainer } from '../src/index.js';
import type { TrainerOptimizer } from '../src/index.js';
import { batches, CONFIG, OPTIONS, STEP_OPTIONS } from './dp/setup.js';
import { runWorkers } from './dp/run.js';

type Dump = { loss: number; gradNorm: number; grads: Record<string, number[]>; params: Record<string, number[]>; state: Record<string, number[]> };

class OpenTrainer extends Trainer {
  get opt(): TrainerOptimizer {
    return this.optimizer;
  }
}

/** The DP=1 reference: one step of the plain trainer on the whole global batch. */
async function reference(): Promise<Dump> {
  const model = new FalconH1ForCausalLM(CONFIG, 3);
  const data = batches();
  const { inputIds } = data.batch(0);
  const { grads } = model.valueAndVariableGrads(inputIds);
  const t = new OpenTrainer(model, data, STEP_OPTIONS, '/nonexistent');
  const m = await t.trainStep();
  const arr = (x: Tensor) => Array.from(x.dataSync());
  return {
    loss: m.loss,
    gradNorm: m.gradNorm,
    grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, arr(g)])),
    params: Object.fromEntries(Object.entries(model.variables()).map(([k, v]) => [k, arr(v)])),
    state: Object.fromEntries(Object.entries(t.opt.state().tensors).map(([k, v]) => [k, arr(v)])),
  };
}

/** max |a−b| / max(max|b|, floor) over one tensor. */
function relErr(a: number[], b: number[], floor = 1e-6): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = floor;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

function losses(out: string): number[] {
  const line = out.split('\n').find((l) => l.includes('LOSSES '));
  if (!line) throw new Error(`no losses in the output:\n${out}`);
  return JSON.parse(line.slice(line.indexOf('LOSSES ') + 7)) as number[];
}

const ref = await reference();

describe('data parallelism (2 processes, Gloo)', () => {
  for (const zero of [0, 1] as const) {
    it(`a DP=2 step equals the DP=1 step on the same global batch${zero ? ' (ZeRO-1)' : ''}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'falcon-dp-step-'));
      // a small bucket size: several buckets, parameters of one bucket split across the ranks' shards
      const r = await runWorkers(2, ['step', dir, String(zero), '0.004']);
      expect(r.exitCode, r.out).toBe(0);
      const dumps = [0, 1].map((k) => JSON.parse(readFileSync(join(dir, `rank${k}.json`), 'utf8')) as Dump);
      for (const d of dumps) {
        // The loss is the mean of the two half-batch means instead of one mean over the batch, and the
        // gradient the mean of two half-batch gradients: the same sums in another order, float32
        // rounding only (≈ 1e-7 relative per operation; 1e-5 leaves room for the sums of ~500 terms).
        expect(Math.abs(d.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
        expect(Math.abs(d.gradNorm - ref.gradNorm) / ref.gradNorm).toBeLessThan(1e-5);
        for (const k of Object.keys(ref.grads)) expect(relErr(d.grads[k], ref.grads[k]), `grad ${k}`).toBeLessThan(1e-5);
        // AdamW's first step moves every weight by ≈ lr·sign(g) whatever the gradient's size; where
        // g ≈ 0 (relative to ε) the rounding of g shows up; so compare the update relative to the
        // weights' scale: 1e-5 of the largest weight is ~1e-3 of one lr step.
        for (const k of Object.keys(ref.params)) expect(relErr(d.params[k], ref.params[k]), `param ${k}`).toBeLessThan(1e-5);
        // m = (1−β1)·clipped gradient and v = (1−β2)·its square after one step: the state, gathered
        // from the shards under ZeRO-1, is the unsharded optimizer's
        for (const k of Object.keys(ref.state)) expect(relErr(d.state[k], ref.state[k]), `state ${k}`).toBeLessThan(2e-5);
      }
      // the replicas agree exactly: the same averaged gradient and update on every rank
      expect(dumps[1].params).toEqual(dumps[0].params);
    });
  }

  it('runs of 8 steps under DP=2 give the DP=1 losses, resume exactly, and resume under DP=1 (with and without ZeRO-1)', async () => {
    const dir1 = mkdtempSync(join(tmpdir(), 'falcon-dp1-'));
    const model = new FalconH1ForCausalLM(CONFIG, 1);
    const single = (await new Trainer(model, batches(), OPTIONS, dir1).run()).map((m) => m.loss);
    for (const zero of ['0', '1']) {
      const a = await runWorkers(2, ['run', mkdtempSync(join(tmpdir(), 'falcon-dp2-')), zero, '8', '100']);
      expect(a.exitCode, a.out).toBe(0);
      const straight = losses(a.out);
      expect(straight).toHaveLength(8);
      // 8 AdamW steps amplify the rounding of the first ones a little: 1e-4 relative
      for (let i = 0; i < 8; i++) expect(Math.abs(straight[i] - single[i]) / single[i], `zero ${zero} step ${i}`).toBeLessThan(1e-4);

      const dirB = mkdtempSync(join(tmpdir(), 'falcon-dp2-resume-'));
      const b1 = await runWorkers(2, ['run', dirB, zero, '8', '4']);
      expect(b1.exitCode, b1.out).toBe(0);
      // the checkpoint is layout-independent: one process resumes the DP=2 (ZeRO-1: gathered) state
      const dirC = mkdtempSync(join(tmpdir(), 'falcon-dp2-to-dp1-'));
      cpSync(dirB, dirC, { recursive: true });
      const c = new Trainer(await FalconH1ForCausalLM.fromPretrained(dirC), batches(), OPTIONS, dirC);
      await c.restore();
      const resumedAlone = (await c.run()).map((m) => m.loss);
      for (let i = 0; i < 4; i++) expect(Math.abs(resumedAlone[i] - straight[4 + i]) / straight[4 + i], `zero ${zero}: DP=1 resume step ${5 + i}`).toBeLessThan(1e-4);
      const b2 = await runWorkers(2, ['run', dirB, zero, '8', '100', 'resume']);
      expect(b2.exitCode, b2.out).toBe(0);
      // exact: the same float32 operations in the same order on the same data
      expect([...losses(b1.out), ...losses(b2.out)]).toEqual(straight);
    }
  });

  // rank 0 too: the launcher hosts the store, so it outlives rank 0 and the survivors can name it
  for (const victim of [1, 0]) {
    it(`rank ${victim} killed in the middle of an all-reduce: the others fail within the timeout naming it, the launcher names it`, async () => {
      const t0 = performance.now();
      // timeout 3 s; the launcher's grace period (15 s) lets the survivors run into it
      const r = await runWorkers(3, ['kill', String(victim)], { DP_TEST_TIMEOUT_MS: '3000' }, 15_000);
      expect(performance.now() - t0).toBeLessThan(14_000); // the survivors exited on their own, well before SIGKILL
      expect(r.exitCode).toBe(128 + 9);
      expect(r.failed?.rank).toBe(victim);
      expect(r.message).toMatch(new RegExp(`^rank ${victim} \\(local rank ${victim}, pid \\d+\\) was killed by SIGKILL`));
      expect(r.out).toContain(`[rank ${victim}]: dying in the middle of all-reduce 3`);
      for (const survivor of [0, 1, 2].filter((k) => k !== victim)) {
        const line = r.out.split('\n').find((l) => l.startsWith(`[rank ${survivor}]: all-reduce 3 failed`));
        expect(line, r.out).toBeDefined();
        const ms = Number(/failed after (\d+) ms/.exec(line!)![1]);
        expect(ms).toBeLessThan(3000 + 2000); // within the timeout (+ slack for a loaded machine)
        expect(line).toMatch(new RegExp(`CollectiveError op=allReduce missingRank=${victim}`));
        expect(r.workers[survivor].code).toBe(3); // it exited non-zero on its own
      }
    });
  }
});

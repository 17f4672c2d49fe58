// A data-parallel worker for the DP tests, started by launch() (RANK, WORLD_SIZE, ... set):
//   worker.ts step <outDir> <zero 0|1> <bucketMb>     one step; writes rank<r>.json with the loss, grad
//                                                     norm, averaged gradients, updated parameters, AdamW m and v
//   worker.ts run <runDir> <zero> <steps> <stopAfter> [resume]   the trainer's run() on the test config; rank 0 prints the losses
//   worker.ts kill <victimRank>                        all-reduces in a loop; the victim SIGKILLs itself in the
//                                                     middle; the others print the error they get
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allReduce, allReduceGradients, destroyProcessGroup, initProcessGroup, planBuckets } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import { DataParallelTrainer, FalconH1ForCausalLM } from '../../src/index.js';
import { CONFIG, OPTIONS, batches, STEP_OPTIONS } from './setup.js';

const [mode, ...args] = process.argv.slice(2);
const group = await initProcessGroup({ backend: 'gloo', timeoutMs: Number(process.env.DP_TEST_TIMEOUT_MS ?? 20000) });
const rank = group.rank;
const arr = (t: tf.Tensor) => Array.from(t.dataSync());

if (mode === 'step') {
  const [outDir, zero, bucketMb] = [args[0], Number(args[1]) as 0 | 1, Number(args[2])];
  const model = new FalconH1ForCausalLM(CONFIG, 3);
  const data = batches();
  // the averaged gradient, through the engine the trainer uses
  const { inputIds } = data.batch(0, 0, { index: rank, count: group.size });
  const { grads } = model.valueAndVariableGrads(inputIds);
  const shapes = Object.fromEntries(Object.entries(model.variables()).map(([k, v]) => [k, v.shape]));
  const avg = await allReduceGradients(grads, planBuckets(shapes, bucketMb * 2 ** 20), group);
  // one trainer step
  const trainer = new DataParallelTrainer(model, data, STEP_OPTIONS, join(outDir, 'run'), { group, zero, bucketMb });
  const m = await trainer.trainStepAsync();
  const opt = (trainer as unknown as { distributed?: { gatherState(): Promise<{ tensors: Record<string, tf.Tensor> }> }; optimizer: { state(): { tensors: Record<string, tf.Tensor> } } });
  const state = zero ? await opt.distributed!.gatherState() : opt.optimizer.state();
  const out = {
    rank,
    loss: m.loss,
    gradNorm: m.gradNorm,
    grads: Object.fromEntries(Object.entries(avg).map(([k, g]) => [k, arr(g)])),
    params: Object.fromEntries(Object.entries(model.variables()).map(([k, v]) => [k, arr(v)])),
    state: Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, arr(t)])),
  };
  writeFileSync(join(outDir, `rank${rank}.json`), JSON.stringify(out));
} else if (mode === 'run') {
  const [dir, zero, steps, stopAfter, resume] = [args[0], Number(args[1]) as 0 | 1, Number(args[2]), Number(args[3]), args[4] === 'resume'];
  const model = resume ? await FalconH1ForCausalLM.fromPretrained(dir) : new FalconH1ForCausalLM(CONFIG, 1);
  const trainer = new DataParallelTrainer(model, batches(), { ...OPTIONS, steps }, dir, { group, zero, bucketMb: 0.01 });
  if (resume) await trainer.restore();
  const ms = await trainer.run(undefined, stopAfter);
  if (rank === 0) console.log(`LOSSES ${JSON.stringify(ms.map((x) => x.loss))}`);
} else if (mode === 'kill') {
  const victim = Number(args[0]);
  // survivors outlive the launcher's SIGTERM (its grace period is longer than the timeout) to show their error
  if (rank !== victim) process.on('SIGTERM', () => console.log('got SIGTERM from the launcher'));
  const x = tf.ones([1 << 16]);
  for (let i = 0; ; i++) {
    if (rank === victim && i === 3) {
      console.log('dying in the middle of all-reduce 3');
      process.kill(process.pid, 'SIGKILL');
    }
    const t0 = Date.now();
    try {
      (await allReduce(x, { group }).wait()).dispose();
    } catch (e) {
      const c = e as Error & { missingRank?: number; op?: string };
      console.log(`all-reduce ${i} failed after ${Date.now() - t0} ms: ${c.name} op=${c.op} missingRank=${c.missingRank}: ${c.message}`);
      // linger a moment so that every survivor sees the victim's death, not a survivor's exit
      setTimeout(() => process.exit(3), 1500);
      await new Promise(() => {});
    }
  }
}
await destroyProcessGroup();

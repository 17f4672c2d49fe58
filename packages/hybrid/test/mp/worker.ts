// A composed-layout test worker (started by launch(): RANK, WORLD_SIZE, ... set):
//   worker.ts grads <outDir> <layout>   every case of the layout: the composed loss, every gradient
//                                       piece and the gradient norm against the one-rank model's
//                                       (computed in every process from the same seed); RESULT json
//   worker.ts train <outDir> <runDir> <stopAfter> [resume]  ComposedTrainer under TP2×PP2 on the
//                                       n_groups 1 config; rank 0 writes losses.json
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyProcessGroup, initializeModelParallel, initProcessGroup, takeShard } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { ComposedFalconH1, ComposedTrainer, composedGradNorm, composedValueAndGrads, FalconH1ForCausalLM } from '../../src/index.js';
import { batches, BATCH, configOf, ids, LAYOUTS, paddingMask, SEED, SEQLEN, TRAIN } from './cases.js';

const [mode, out, ...args] = process.argv.slice(2);
const world = await initProcessGroup({ backend: 'gloo', timeoutMs: 60_000 });

/** max |a − b| / max |b| (norm-relative: float32 re-association moves small entries most). */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

if (mode === 'grads') {
  const layout = LAYOUTS[args[0]];
  const groups = await initializeModelParallel(layout.sizes);
  const results: Array<{ name: string; lossErr: number | null; worst: [string, number]; normErr: number; checked: string[]; failures: string[] }> = [];
  for (const c of layout.cases) {
    const config = configOf(c);
    const ref = new FalconH1ForCausalLM(config, SEED);
    const all = tf.tensor2d(ids(config.base.vocab_size), [BATCH, SEQLEN], 'int32') as Tensor2D;
    // padded cases: the mask, and labels ignoring the padding
    const maskValues = c.pad ? paddingMask() : undefined;
    const allMask = maskValues && (tf.tensor2d(maskValues, [BATCH, SEQLEN], 'int32') as Tensor2D);
    const allLabels = maskValues && (tf.tensor2d(Array.from(all.dataSync(), (v, i) => (maskValues[i] ? v : -100)), [BATCH, SEQLEN], 'int32') as Tensor2D);
    // padded cases: a non-zero conv bias (padding's conv outputs are then non-zero unless masked), the same pieces in the composed model
    if (c.pad) for (const layer of ref.layers) tf.tidy(() => layer.mamba?.parameters()['conv1d.bias']?.assign(tf.mul(tf.sin(tf.range(1, layer.mamba.convDim + 1)), 0.5)));
    const want = ref.valueAndGrads(all, { labels: allLabels, attentionMask: allMask });
    const model = new ComposedFalconH1(config, groups, { seed: SEED, sequenceParallel: c.sp, splits: c.splits, mambaMode: c.mode });
    if (c.pad) {
      const full = ref.stateDict();
      const plan = model.shardPlan();
      for (const [k, v] of Object.entries(model.variables())) if (k.endsWith('mamba.conv1d.bias')) tf.tidy(() => v.assign(takeShard(full[k], plan[k])));
    }
    // this replica's rows
    const dp = groups.dp;
    const rows = BATCH / dp.size;
    const rowsOf = (t: Tensor2D) => tf.slice(t, [dp.rank * rows, 0], [rows, SEQLEN]) as Tensor2D;
    const mine = rowsOf(all);
    const myPad = allMask && allLabels ? { attentionMask: rowsOf(allMask), labels: rowsOf(allLabels) } : {};
    const { loss, grads } = await composedValueAndGrads(model, { inputIds: mine, ...myPad }, { microbatches: c.microbatches, recompute: c.recompute });
    const failures: string[] = [];
    let lossErr: number | null = null;
    const wantLoss = want.loss.dataSync()[0];
    if (model.stage.isLast) {
      // float32 sums in other orders (microbatches, vocab shards, CP shares): ~1e-7 relative; 1e-5 is the contract
      lossErr = Math.abs(loss!.dataSync()[0] - wantLoss) / Math.abs(wantLoss);
      if (!(lossErr <= 1e-5)) failures.push(`loss ${loss!.dataSync()[0]} vs ${wantLoss} (rel ${lossErr})`);
    } else if (loss) failures.push('a loss on a stage that is not the last');
    let worst: [string, number] = ['', 0];
    const plan = model.shardPlan();
    for (const [name, spec] of Object.entries(plan)) {
      const g = grads[name];
      const full = want.grads[name];
      if (!g || !full) {
        failures.push(`${name}: ${g ? 'no one-rank gradient' : 'no composed gradient'}`);
        continue;
      }
      const piece = takeShard(full, spec);
      if (!tf.util.arraysEqual(g.shape, piece.shape)) failures.push(`${name}: shape [${g.shape}] vs [${piece.shape}]`);
      else {
        // float32 on cpu, other summation orders: ~1e-6 relative is typical; 1e-5 is the contract
        const e = relErr(g, piece);
        if (e > worst[1] || Number.isNaN(e)) worst = [name, e];
        if (!(e <= 1e-5)) failures.push(`${name}: relative error ${e}`);
      }
      piece.dispose();
    }
    for (const name of Object.keys(grads)) if (!(name in plan)) failures.push(`unexpected gradient ${name}`);
    const norm = (await composedGradNorm(model, grads)).dataSync()[0];
    const refNorm = Math.sqrt(Object.values(want.grads).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0));
    const normErr = Math.abs(norm - refNorm) / refNorm;
    if (!(normErr <= 1e-5)) failures.push(`gradient norm ${norm} vs ${refNorm}`);
    results.push({ name: c.name, lossErr, worst, normErr, checked: Object.keys(plan), failures });
    tf.dispose([all, mine, ...[allMask, allLabels, myPad.attentionMask, myPad.labels].filter((t) => t !== undefined), want.loss, ...Object.values(want.grads), ...(loss ? [loss] : []), ...Object.values(grads)]);
    model.dispose();
    ref.dispose();
  }
  writeFileSync(join(out, `rank${world.rank}.json`), JSON.stringify({ rank: world.rank, coords: groups.coords, results }));
} else if (mode === 'train') {
  const [runDir, stopAfter, resume] = args;
  const groups = await initializeModelParallel({ tp: 2, pp: 2 });
  const model = new ComposedFalconH1(configOf({ config: 'groups1', bitnet: false }), groups, { seed: SEED });
  const trainer = new ComposedTrainer(model, batches(), { ...TRAIN, saveEvery: 5 }, { microbatches: 2 }, runDir);
  if (resume === 'resume') await trainer.restore();
  const from = trainer.step;
  const metrics = await trainer.run(undefined, Number(stopAfter));
  if (world.rank === 0) writeFileSync(join(out, 'losses.json'), JSON.stringify({ from, losses: metrics.map((m) => m.loss), norms: metrics.map((m) => m.gradNorm) }));
  model.dispose();
}
tf.disposeVariables();
await destroyProcessGroup();

/**
 * `ComposedTrainer`: training under any TP × CP × PP × DP. Every rank runs the same loop on the
 * same global batches: each DP replica takes its rows, the composed loss and gradients of the
 * rank's pieces ({@link composedValueAndGrads}), the one-rank global gradient norm
 * ({@link composedGradNorm}) and its clip coefficient, and AdamW on the pieces with the run's
 * schedule and μP groups (elementwise, so the pieces move as the one-rank tensors do). Distributed
 * checkpoints ({@link saveDistributedCheckpoint}: each (TP rank, stage) of the first CP and DP rank
 * writes its pieces and their moments, the manifest last; its `state.info` records the sizes, the
 * head split of every layer and the Mamba-2 mode) resume exactly under the same layout, and load
 * re-sharded under any other (another head split included).
 */
import { PIPELINE_FREE_TAG, stageBroadcast } from '@falcon/parallel';
import { clipCoefficient, tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';
import { AdamW } from '../../train/adamw.js';
import type { TokenBatches } from '../../train/data.js';
import { sha256 } from '../../train/durable.js';
import { warmupCosine } from '../../train/schedule.js';
import { adamWOptions } from '../../train/trainer.js';
import type { StepMetrics, TrainerOptimizer, TrainOptions } from '../../train/trainer.js';
import { loadDistributedCheckpoint } from '../../train/distributed_checkpoint/load.js';
import type { DistributedTrainerState } from '../../train/distributed_checkpoint/manifest.js';
import { saveDistributedCheckpoint } from '../../train/distributed_checkpoint/save.js';
import type { ComposedFalconH1 } from './model.js';
import { composedGradNorm, composedValueAndGrads } from './step.js';
import type { ComposedStepOptions } from './step.js';

const LOSS_TAG = PIPELINE_FREE_TAG + 13;
/** Options whose change would change the arithmetic of a resumed run. */
const FIXED = ['lr', 'warmupSteps', 'minLr', 'weightDecay', 'betas', 'clip', 'lrMultipliers'] as const;

/** Trains one rank's part of a composed layout; every rank runs one, step for step. */
export class ComposedTrainer {
  /** Optimizer steps done so far. */
  step = 0;
  /** AdamW over this rank's pieces. */
  readonly optimizer: TrainerOptimizer;

  /**
   * @param model - this rank's part of the model (updated in place)
   * @param data - the global batches (the same on every rank)
   * @param options - hyper-parameters (the same on every rank); `accumulate` must be 1 (the microbatches are the accumulation)
   * @param parallel - microbatches, schedule, stash
   * @param dir - the run directory of the distributed checkpoints (shared by every rank; absent: no checkpoints)
   * @param info - what the caller records about the run in its checkpoints (the CLI: config source, data path)
   * @throws when the options do not fit the layout
   */
  constructor(
    readonly model: ComposedFalconH1,
    readonly data: TokenBatches,
    readonly options: TrainOptions,
    readonly parallel: ComposedStepOptions,
    readonly dir?: string,
    readonly info?: Record<string, unknown>,
  ) {
    if (!(Number.isInteger(options.steps) && options.steps > 0)) throw new Error(`steps must be a positive integer, got ${options.steps}`);
    if (!(options.lr > 0)) throw new Error(`lr must be positive, got ${options.lr}`);
    if ((options.accumulate ?? 1) !== 1) throw new Error(`accumulate is ${options.accumulate}: under pipeline parallelism the microbatches are the accumulation (set microbatches instead)`);
    const dp = model.groups.dp.size;
    if (data.batchSize % (dp * parallel.microbatches) !== 0) throw new Error(`the batch size ${data.batchSize} does not split into ${dp} data-parallel replicas × ${parallel.microbatches} microbatches`);
    const vars = model.variables();
    this.optimizer = new AdamW(vars, adamWOptions(options, vars));
  }

  /** The learning rate of step `s` (0-based), as `Trainer.lrAt`. */
  lrAt(s: number): number {
    const o = this.options;
    return warmupCosine(s, { lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmupSteps ?? Math.floor(o.steps * 0.05), minLr: o.minLr });
  }

  /** One optimizer step on every rank (each must call it); the metrics are the same on every rank. */
  async trainStep(): Promise<StepMetrics> {
    const t0 = performance.now();
    const { dp } = this.model.groups;
    const { inputIds } = this.data.batch(this.step, 0, dp.size > 1 ? { index: dp.rank, count: dp.size } : undefined);
    let out: { loss?: Scalar; grads: Record<string, Tensor> };
    try {
      out = await composedValueAndGrads(this.model, { inputIds }, { ...this.parallel, recompute: this.options.recompute });
    } finally {
      inputIds.dispose();
    }
    const { loss, grads } = out;
    const norm = await composedGradNorm(this.model, grads);
    const clip = this.options.clip ?? 1;
    const scale = clip > 0 ? clipCoefficient(norm, clip) : undefined;
    const lr = this.lrAt(this.step);
    this.optimizer.step(grads, lr, scale);
    tf.dispose([...Object.values(grads), ...(scale ? [scale] : [])]);
    this.step++;
    const st = this.model.stage;
    const lossIn = loss ? tf.reshape(loss, [1]) : undefined;
    const lossAll = await stageBroadcast(this.model.transport, { stage: st.stage, stages: st.stages }, lossIn, [1], st.stages - 1, LOSS_TAG);
    tf.dispose([...(loss ? [loss] : []), ...(lossIn ? [lossIn] : [])]);
    const [l, n] = await Promise.all([lossAll.data(), norm.data()]);
    tf.dispose([lossAll, norm]);
    const tokens = this.data.batchSize * this.data.seqlen;
    return { step: this.step, loss: l[0], lr, gradNorm: n[0], tokens, tokensPerSec: tokens / ((performance.now() - t0) / 1000) };
  }

  private state(): DistributedTrainerState {
    const d = this.data;
    const s = this.model.groups;
    return {
      step: this.step,
      optimizerStep: this.optimizer.state().step,
      options: { ...this.options } as Record<string, unknown>,
      data: { seed: d.seed, batchSize: d.batchSize, seqlen: d.seqlen, tokens: d.tokens.length, sha256: sha256(d.tokens) },
      rng: { dataSeed: d.seed, initSeed: this.model.seed },
      info: { ...this.info, microbatches: this.parallel.microbatches, sequenceParallel: this.model.layout.sequenceParallel, splits: this.model.layout.splits, mambaMode: this.model.mambaMode, sizes: { tp: s.tp.size, cp: s.cp.size, pp: s.pp.size, dp: s.dp.size } },
    };
  }

  /**
   * Save a distributed checkpoint of the current step into the run directory and commit it
   * (collective over the world: every rank calls it).
   * @returns the checkpoint's directory
   */
  async save(): Promise<string> {
    if (!this.dir) throw new Error('ComposedTrainer.save: the trainer has no run directory');
    const saves = this.model.saves;
    const plan = saves ? this.model.shardPlan() : {};
    const vars = this.model.variables();
    const weights = saves ? vars : {};
    const optimizer = saves ? this.optimizer.state().tensors : {};
    const g = this.model.groups;
    return saveDistributedCheckpoint(this.dir, { step: this.step, plan, weights, optimizer, state: this.state(), config: this.model.config, sizes: { tp: g.tp.size, cp: g.cp.size, pp: g.pp.size, dp: g.dp.size } });
  }

  /**
   * Restore the run directory's latest distributed checkpoint (saved under any layout): this
   * rank's pieces and their AdamW moments, re-sharded, and the step. The config, the data and the
   * options that change the arithmetic must be the saved run's.
   * @throws naming the problem (no complete checkpoint, another model, data or options)
   */
  async restore(): Promise<void> {
    if (!this.dir) throw new Error('ComposedTrainer.restore: the trainer has no run directory');
    const c = await loadDistributedCheckpoint(this.dir, { plan: this.model.shardPlan(), optimizer: true, config: this.model.config });
    try {
      const problems: string[] = [];
      const d = this.state().data;
      for (const k of ['seed', 'batchSize', 'seqlen', 'tokens', 'sha256'] as const) if (c.state.data[k] !== d[k]) problems.push(`data ${k} is ${d[k]}, the saved run's is ${c.state.data[k]}`);
      for (const k of FIXED) if (JSON.stringify(this.options[k]) !== JSON.stringify(c.state.options[k])) problems.push(`option ${k} is ${JSON.stringify(this.options[k])}, the saved run's is ${JSON.stringify(c.state.options[k])}`);
      if (problems.length) throw new Error(`cannot resume ${this.dir}: ${problems.join('; ')}`);
      this.model.loadPieces(c.weights);
      this.optimizer.loadState(c.optimizer, c.state.optimizerStep);
      this.step = c.state.step;
    } finally {
      tf.dispose([...Object.values(c.weights), ...Object.values(c.optimizer)]);
    }
  }

  /**
   * Train until `options.steps`, saving every `saveEvery` steps and at the end (with a run directory).
   * @param onStep - called after every step
   * @param stopAfter - stop after this many steps of this call (no final save then)
   * @returns the metrics of every step run
   */
  async run(onStep?: (m: StepMetrics) => void, stopAfter = Infinity): Promise<StepMetrics[]> {
    const all: StepMetrics[] = [];
    let done = 0;
    for (; this.step < this.options.steps && done < stopAfter; done++) {
      const m = await this.trainStep();
      all.push(m);
      onStep?.(m);
      if (this.dir && this.options.saveEvery && this.step % this.options.saveEvery === 0) await this.save();
    }
    if (this.dir && this.step >= this.options.steps && !(this.options.saveEvery && this.step % this.options.saveEvery === 0)) await this.save();
    return all;
  }
}

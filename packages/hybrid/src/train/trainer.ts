/**
 * The training loop: AdamW with a warm-up + cosine schedule, global-norm clipping, gradient
 * accumulation, μP learning-rate multipliers per parameter group, selective recomputation, a
 * deterministic data order, checkpoints with exact resume, and metrics as JSON lines.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSafetensors, openCheckpoint } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';
import type { FalconH1ForCausalLM } from '../model.js';
import type { RecomputePolicy } from '../recompute.js';
import { configJson } from '../pretrained.js';
import { AdamW } from './adamw.js';
import type { AdamWOptions } from './adamw.js';
import { readCommitted, saveCheckpoint } from './checkpoint.js';
import { sha256 } from './durable.js';
import { METRICS } from './latest.js';
import { lockRunDirectory, prepareRunDirectory, syncMetrics } from './run_directory.js';
import type { CommittedCheckpoint, TrainerState } from './checkpoint.js';
import { killPoint } from './kill_point.js';
import { globalGradNorm, globalNormClip } from './clip.js';
import type { BatchPart, TokenBatches } from './data.js';
import { warmupCosine } from './schedule.js';

/** Hyper-parameters of a run (saved with every checkpoint). */
export interface TrainOptions {
  /** Optimizer steps in the whole run. */
  steps: number;
  /** Peak learning rate. */
  lr: number;
  /** Warm-up steps (default 5% of steps). */
  warmupSteps?: number;
  /** Final learning rate (default lr/10). */
  minLr?: number;
  /** AdamW decoupled weight decay (default 0.1; never applied to 1-D parameters: norms, biases, A_log, D, dt_bias). */
  weightDecay?: number;
  /** AdamW betas (default [0.9, 0.95]). */
  betas?: [number, number];
  /** Clip gradients to this global norm (default 1; 0 disables). */
  clip?: number;
  /** Microbatches per optimizer step (gradient accumulation, default 1). */
  accumulate?: number;
  /** μP: learning-rate multiplier per parameter group, keyed by a substring of the parameter name (first match wins). */
  lrMultipliers?: Record<string, number>;
  /** Sub-layers recomputed in the backward (default none). */
  recompute?: RecomputePolicy;
  /** Write a checkpoint every this many steps (default: only at the end). */
  saveEvery?: number;
}

/** One step's metrics (one JSON line of metrics.jsonl). */
export interface StepMetrics {
  /** 1-based step. */
  step: number;
  /** Mean loss over the step's microbatches. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens processed by this step. */
  tokens: number;
  /** Throughput of this step. */
  tokensPerSec: number;
}

/** Options that change the arithmetic of a run: a resume must use the saved values. */
const FIXED_OPTIONS = ['lr', 'warmupSteps', 'minLr', 'weightDecay', 'betas', 'clip', 'accumulate', 'lrMultipliers'] as const;

/** A step queued by {@link Trainer.dispatchStep}: its loss and gradient norm still on the device. */
export interface PendingStepMetrics {
  /** 1-based step. */
  step: number;
  /** Mean loss over the step's microbatches (a device scalar; the caller disposes it). */
  loss: Scalar;
  /** Global gradient norm before clipping (a device scalar; the caller disposes it). */
  gradNorm: Scalar;
  /** Learning rate used. */
  lr: number;
  /** Tokens processed by this step. */
  tokens: number;
  /** `performance.now()` when the step started. */
  started: number;
}

/** What the trainer needs of its optimizer ({@link AdamW} has it). */
export interface TrainerOptimizer {
  /**
   * Apply one update with these gradients at learning rate `lr`, each gradient first multiplied by
   * `gradScale` when given (a device scalar: the clip coefficient).
   */
  step(grads: Record<string, Tensor>, lr: number, gradScale?: Tensor): void;
  /** The state to checkpoint: tensors keyed `<slot>.<parameter name>`, and the step count. */
  state(): { tensors: Record<string, Tensor>; step: number };
  /** Restore a state written by `state()`. */
  loadState(tensors: Record<string, Tensor>, step: number): void;
  /** Free the optimizer's state (called by {@link Trainer.dispose}). */
  dispose?(): void;
}

/**
 * AdamW's options for a run: betas, weight decay, μP learning-rate multipliers (first matching name
 * substring) and no weight decay on 1-D parameters (norms, biases, A_log, D, dt_bias).
 * @param options - the run's hyper-parameters
 * @param vars - the model's variables by name (their ranks pick the weight-decay group)
 */
export function adamWOptions(options: TrainOptions, vars: Record<string, { rank: number }>): AdamWOptions {
  const mult = Object.entries(options.lrMultipliers ?? {});
  return {
    betas: options.betas,
    weightDecay: options.weightDecay ?? 0.1,
    groups: (name) => ({
      lrMultiplier: mult.find(([k]) => name.includes(k))?.[1] ?? 1,
      weightDecayMultiplier: vars[name].rank <= 1 ? 0 : 1,
    }),
  };
}
/** Trains a model on a token stream. */
export class Trainer {
  /** Optimizer steps done so far. */
  step = 0;
  private optimizerInstance: TrainerOptimizer | undefined;
  private dataSha256: string | undefined;

  /**
   * @param model - the model to train (its variables are updated in place)
   * @param data - deterministic batches
   * @param options - hyper-parameters
   * @param dir - the run directory: checkpoints (see `checkpoint.ts`) and metrics.jsonl
   * @param info - facts about the run saved with every checkpoint (the CLI records its config source and data path)
   */
  constructor(
    readonly model: FalconH1ForCausalLM,
    readonly data: TokenBatches,
    readonly options: TrainOptions,
    readonly dir: string,
    readonly info: Record<string, unknown> = {},
  ) {
    if (!(Number.isInteger(options.steps) && options.steps > 0)) throw new Error(`steps must be a positive integer, got ${options.steps}`);
    if (!(options.lr > 0)) throw new Error(`lr must be positive, got ${options.lr}`);
  }

  /**
   * Free what the trainer holds on the device: the optimizer's state (AdamW's two moments, twice the
   * parameters' memory). The model stays the caller's; the trainer must not step afterwards.
   */
  dispose(): void {
    this.optimizerInstance?.dispose?.();
    this.optimizerInstance = undefined;
  }

  /** The optimizer, made on first use by {@link Trainer.createOptimizer}. */
  protected get optimizer(): TrainerOptimizer {
    return (this.optimizerInstance ??= this.createOptimizer());
  }

  /**
   * Make the optimizer: AdamW over the model's variables with the run's hyper-parameters and
   * parameter groups. A subclass (data parallelism with a sharded optimizer) makes its own.
   */
  protected createOptimizer(): TrainerOptimizer {
    return new AdamW(this.model.variables(), adamWOptions(this.options, this.model.variables()));
  }

  /** The learning rate of step `s` (0-based). */
  lrAt(s: number): number {
    const o = this.options;
    return warmupCosine(s, { lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmupSteps ?? Math.floor(o.steps * 0.05), minLr: o.minLr });
  }

  /**
   * Queue one optimizer step (all its microbatches, the global norm, the clip coefficient and the
   * fused AdamW updates) without reading anything back to the host: the loss and the gradient norm
   * stay device scalars (the caller disposes them). {@link Trainer.trainStep} reads them.
   */
  dispatchStep(): PendingStepMetrics {
    const t0 = performance.now();
    const { grads, loss } = this.localGradients();
    const { lr, gradNorm } = this.applyGradients(grads);
    return { step: this.step, loss, gradNorm, lr, tokens: (this.options.accumulate ?? 1) * this.data.batchSize * this.data.seqlen, started: t0 };
  }

  /**
   * Run one optimizer step (all its microbatches) and return its metrics. The whole step is queued
   * first ({@link Trainer.dispatchStep}); then loss and gradient norm are read asynchronously, the
   * step's only read.
   */
  async trainStep(): Promise<StepMetrics> {
    const p = this.dispatchStep();
    try {
      const [loss, gradNorm] = await Promise.all([p.loss.data(), p.gradNorm.data()]);
      return this.stepMetrics(p.started, loss[0], p.lr, gradNorm[0]);
    } finally {
      tf.dispose([p.loss, p.gradNorm]);
    }
  }

  /**
   * The mean loss (a device scalar) and the mean gradients over this step's microbatches (of the
   * rows `part` selects); nothing is read back.
   * @param part - a data-parallel rank's share of each batch (default: the whole batch)
   */
  protected localGradients(part?: BatchPart): { grads: Record<string, Tensor>; loss: Scalar } {
    const accumulate = this.options.accumulate ?? 1;
    let sum: Record<string, Tensor> | undefined;
    let lossSum: Scalar | undefined;
    for (let m = 0; m < accumulate; m++) {
      const { inputIds } = this.data.batch(this.step, m, part);
      const { loss, grads } = this.model.valueAndVariableGrads(inputIds, { recompute: this.options.recompute });
      inputIds.dispose();
      if (!lossSum) lossSum = loss;
      else {
        const s = tf.add(lossSum, loss) as Scalar;
        tf.dispose([lossSum, loss]);
        lossSum = s;
      }
      killPoint('mid-step', this.step + 1);
      if (!sum) sum = grads;
      else {
        for (const k of Object.keys(sum)) {
          const s = tf.add(sum[k], grads[k]);
          tf.dispose([sum[k], grads[k]]);
          sum[k] = s;
        }
      }
    }
    if (accumulate > 1) {
      for (const k of Object.keys(sum!)) {
        const s = tf.div(sum![k], accumulate);
        sum![k].dispose();
        sum![k] = s;
      }
    }
    const loss = tf.div(lossSum!, accumulate) as Scalar;
    lossSum!.dispose();
    return { grads: sum!, loss };
  }

  /**
   * Clip the gradients to the global norm and apply the optimizer at this step's learning rate, all
   * on the device (the norm and the clip coefficient stay scalars there; AdamW multiplies the
   * coefficient in), and count the step. Disposes `grads`.
   * @returns the learning rate used and the gradient norm before clipping (a device scalar)
   */
  protected applyGradients(grads: Record<string, Tensor>): { lr: number; gradNorm: Scalar } {
    const clip = this.options.clip ?? 1;
    const { norm, scale } = clip > 0 ? globalNormClip(grads, clip) : { norm: globalGradNorm(grads), scale: undefined };
    const lr = this.lrAt(this.step);
    this.optimizer.step(grads, lr, scale);
    tf.dispose([...Object.values(grads), ...(scale ? [scale] : [])]);
    this.step++;
    return { lr, gradNorm: norm };
  }

  /** The metrics of the step just done, which started at `t0` (performance.now()). */
  protected stepMetrics(t0: number, loss: number, lr: number, gradNorm: number): StepMetrics {
    const tokens = (this.options.accumulate ?? 1) * this.data.batchSize * this.data.seqlen;
    const secs = (performance.now() - t0) / 1000;
    return { step: this.step, loss, lr, gradNorm, tokens, tokensPerSec: tokens / secs };
  }

  /** The next step, as `run()` takes it; a data-parallel subclass's step is asynchronous. */
  protected nextStep(): Promise<StepMetrics> {
    return this.trainStep();
  }

  /** Whether this process writes the run directory (metrics, checkpoints); only rank 0 of a data-parallel run does. */
  protected get writesRun(): boolean {
    return true;
  }

  /**
   * Train until `options.steps`, checkpointing every `saveEvery` steps and at the end. First takes
   * the run directory's lock and removes what an interrupted earlier process left (see
   * `prepareRunDirectory` in run_directory.ts); metrics.jsonl then holds each step once.
   * @param onStep - called after every step (progress bars, logs)
   * @param stopAfter - stop early after this many steps of this call (the run can be resumed)
   * @throws when the directory holds a commit of another step (restore it first)
   */
  async run(onStep?: (m: StepMetrics) => void, stopAfter = Infinity): Promise<StepMetrics[]> {
    // in a data-parallel run only rank 0 holds the directory; the others only read it (restore)
    const unlock = this.writesRun ? await lockRunDirectory(this.dir) : async () => {};
    try {
      if (this.writesRun) await prepareRunDirectory(this.dir, this.step);
      const all: StepMetrics[] = [];
      let done = 0;
      let saved = true;
      while (this.step < this.options.steps && done < stopAfter) {
        const m = await this.nextStep();
        done++;
        saved = false;
        all.push(m);
        if (this.writesRun) await appendFile(join(this.dir, METRICS), JSON.stringify(m) + '\n');
        killPoint('after-metrics', this.step);
        onStep?.(m);
        const every = this.options.saveEvery;
        if ((every && this.step % every === 0) || this.step === this.options.steps) {
          await this.save();
          saved = true;
        }
        await new Promise((r) => setImmediate(r));
      }
      if (!saved) await this.save();
      return all;
    } finally {
      await unlock();
    }
  }

  private dataState(): TrainerState['data'] {
    this.dataSha256 ??= sha256(this.data.tokens);
    return { seed: this.data.seed, batchSize: this.data.batchSize, seqlen: this.data.seqlen, tokens: this.data.tokens.length, sha256: this.dataSha256 };
  }

  /**
   * Save a checkpoint of the current step as one atomic unit (model, optimizer state, step, data
   * position, options) and commit it as the run's latest (see `checkpoint.ts`). `run()` calls it;
   * called directly, the directory must not be in use by another process.
   */
  async save(): Promise<void> {
    await syncMetrics(this.dir);
    const st = this.optimizer.state();
    const state: TrainerState = {
      step: this.step,
      optimizerStep: st.step,
      options: { ...this.options } as Record<string, unknown>,
      data: this.dataState(),
      info: this.info,
    };
    await saveCheckpoint(this.dir, { step: this.step, model: this.model, optimizerTensors: st.tensors, state });
  }

  /**
   * Restore the run's latest committed checkpoint: the model's weights, the optimizer state and the
   * step, all from the one checkpoint (each file checked against its manifest). The model's config,
   * the data and the options that change the arithmetic (all but `steps`, `saveEvery`, `recompute`)
   * must be those of the saved run.
   * @param committed - the checkpoint, if already read with {@link readCommitted}
   * @throws when nothing was committed, the checkpoint is damaged, or the model, data or options differ from the saved run's
   */
  async restore(committed?: CommittedCheckpoint): Promise<void> {
    const c = committed ?? (await readCommitted(this.dir));
    if (!c) throw new Error(`${this.dir} holds no committed checkpoint to resume from (the run stopped before its first save, or is not a run)`);
    const problems: string[] = [];
    if (c.configText !== configJson(this.model.config)) problems.push("the model's config is not the saved config.json");
    const d = this.dataState();
    for (const k of ['seed', 'batchSize', 'seqlen', 'tokens', 'sha256'] as const) {
      if (c.state.data[k] !== d[k]) problems.push(`data ${k} is ${d[k]}, the saved run's is ${c.state.data[k]}`);
    }
    for (const k of FIXED_OPTIONS) {
      if (JSON.stringify(this.options[k]) !== JSON.stringify(c.state.options[k])) problems.push(`option ${k} is ${JSON.stringify(this.options[k])}, the saved run's is ${JSON.stringify(c.state.options[k])}`);
    }
    if (problems.length) throw new Error(`cannot resume ${this.dir}: ${problems.join('; ')}`);
    const reader = await openCheckpoint(c.dir);
    const weights = await reader.readTensors().finally(() => reader.close());
    const tensors = await loadSafetensors(join(c.dir, 'optimizer.safetensors'));
    try {
      const keep = Object.fromEntries([...weights].filter(([k]) => !(this.model.config.base.tie_word_embeddings && k === 'lm_head.weight')));
      this.model.loadStateDict(keep);
      this.optimizer.loadState(Object.fromEntries(tensors), c.state.optimizerStep);
    } finally {
      for (const t of [...weights.values(), ...tensors.values()]) t.dispose();
    }
    this.step = c.state.step;
  }
}

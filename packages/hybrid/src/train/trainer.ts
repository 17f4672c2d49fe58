/**
 * The training loop: AdamW with a warm-up + cosine schedule, global-norm clipping, gradient
 * accumulation, μP learning-rate multipliers per parameter group, selective recomputation, a
 * deterministic data order, checkpoints with exact resume, and metrics as JSON lines.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSafetensors, writeSafetensors } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';
import type { FalconH1ForCausalLM } from '../model.js';
import type { RecomputePolicy } from '../recompute.js';
import { AdamW } from './adamw.js';
import { globalGradNorm, globalNormClip } from './clip.js';
import type { TokenBatches } from './data.js';
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

/** Trains a model on a token stream. */
export class Trainer {
  /** Optimizer steps done so far. */
  step = 0;
  private readonly optimizer: AdamW;

  /**
   * @param model - the model to train (its variables are updated in place)
   * @param data - deterministic batches
   * @param options - hyper-parameters
   * @param dir - where checkpoints and metrics.jsonl go
   */
  constructor(
    readonly model: FalconH1ForCausalLM,
    readonly data: TokenBatches,
    readonly options: TrainOptions,
    readonly dir: string,
  ) {
    if (!(Number.isInteger(options.steps) && options.steps > 0)) throw new Error(`steps must be a positive integer, got ${options.steps}`);
    if (!(options.lr > 0)) throw new Error(`lr must be positive, got ${options.lr}`);
    const vars = model.variables();
    const mult = Object.entries(options.lrMultipliers ?? {});
    this.optimizer = new AdamW(vars, {
      betas: options.betas,
      weightDecay: options.weightDecay ?? 0.1,
      groups: (name) => ({
        lrMultiplier: mult.find(([k]) => name.includes(k))?.[1] ?? 1,
        weightDecayMultiplier: vars[name].rank <= 1 ? 0 : 1,
      }),
    });
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

  /** The mean loss (a device scalar) and the mean gradients over this step's microbatches; nothing is read back. */
  protected localGradients(): { grads: Record<string, Tensor>; loss: Scalar } {
    const accumulate = this.options.accumulate ?? 1;
    let sum: Record<string, Tensor> | undefined;
    let lossSum: Scalar | undefined;
    for (let m = 0; m < accumulate; m++) {
      const { inputIds } = this.data.batch(this.step, m);
      const { loss, grads } = this.model.valueAndVariableGrads(inputIds, { recompute: this.options.recompute });
      inputIds.dispose();
      if (!lossSum) lossSum = loss;
      else {
        const s = tf.add(lossSum, loss) as Scalar;
        tf.dispose([lossSum, loss]);
        lossSum = s;
      }
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

  /**
   * Run one optimizer step (all its microbatches) and return its metrics. The whole step is queued
   * first ({@link Trainer.dispatchStep}); then loss and gradient norm are read asynchronously, the
   * step's only read.
   */
  async trainStep(): Promise<StepMetrics> {
    const p = this.dispatchStep();
    try {
      const [loss, gradNorm] = await Promise.all([p.loss.data(), p.gradNorm.data()]);
      const secs = (performance.now() - p.started) / 1000;
      return { step: p.step, loss: loss[0], lr: p.lr, gradNorm: gradNorm[0], tokens: p.tokens, tokensPerSec: p.tokens / secs };
    } finally {
      tf.dispose([p.loss, p.gradNorm]);
    }
  }

  /**
   * Train until `options.steps`, checkpointing every `saveEvery` steps and at the end.
   * @param onStep - called after every step (progress bars, logs)
   * @param stopAfter - stop early after this many steps of this call (the run can be resumed)
   */
  async run(onStep?: (m: StepMetrics) => void, stopAfter = Infinity): Promise<StepMetrics[]> {
    await mkdir(this.dir, { recursive: true });
    const all: StepMetrics[] = [];
    let done = 0;
    while (this.step < this.options.steps && done < stopAfter) {
      const m = await this.trainStep();
      done++;
      all.push(m);
      await appendFile(join(this.dir, 'metrics.jsonl'), JSON.stringify(m) + '\n');
      onStep?.(m);
      const every = this.options.saveEvery;
      if ((every && this.step % every === 0) || this.step === this.options.steps) await this.save();
      await new Promise((r) => setImmediate(r));
    }
    if (done > 0 && this.step % (this.options.saveEvery ?? Infinity) !== 0 && this.step !== this.options.steps) await this.save();
    return all;
  }

  /** Write the model (Hugging Face layout), the optimizer state and trainer_state.json into the run's directory. */
  async save(): Promise<void> {
    await this.model.savePretrained(this.dir);
    const st = this.optimizer.state();
    await writeSafetensors(join(this.dir, 'optimizer.safetensors'), st.tensors);
    const state = { step: this.step, optimizerStep: st.step, options: this.options, data: { seed: this.data.seed, batchSize: this.data.batchSize, seqlen: this.data.seqlen } };
    const tmp = join(this.dir, `.trainer_state.json.tmp-${process.pid}`);
    await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
    await rename(tmp, join(this.dir, 'trainer_state.json'));
  }

  /**
   * Restore the optimizer state and step count from a run directory written by {@link Trainer.save}
   * (the model's weights are loaded separately with `fromPretrained`).
   */
  async restore(): Promise<void> {
    const state = JSON.parse(await readFile(join(this.dir, 'trainer_state.json'), 'utf8')) as { step: number; optimizerStep: number };
    const tensors = await loadSafetensors(join(this.dir, 'optimizer.safetensors'));
    try {
      this.optimizer.loadState(Object.fromEntries(tensors), state.optimizerStep);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    this.step = state.step;
  }
}

/**
 * `PipelineTrainer`: training under pipeline parallelism. Every stage runs the same loop on the same
 * global batches: the pipelined loss and gradients of its own parameters
 * ({@link pipelineValueAndGrads}), the global gradient norm summed across the stages (the tied
 * embeddings counted once), the clip coefficient, and AdamW on the stage's parameters with the
 * run's schedule and μP groups — so `s` stages train the model one process trains (to float
 * rounding: {@link Trainer} on the same batches).
 *
 * With a data-parallel group (PP × DP), each replica of the pipeline takes its rows of the global
 * batch, the stage's gradients are averaged over its data-parallel group ({@link allReduceGradients})
 * before the norm, and the reported loss is the mean over the replicas.
 */
import { allReduce, allReduceGradients, broadcastParameters, PIPELINE_FREE_TAG, planBuckets, stageBroadcast, stageSum } from '@falcon/parallel';
import type { PipelineScheduleKind, PipelineTransport, ProcessGroup } from '@falcon/parallel';
import { clipCoefficient, sumInOrder, tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';
import { AdamW } from '../../train/adamw.js';
import type { TokenBatches } from '../../train/data.js';
import { warmupCosine } from '../../train/schedule.js';
import { adamWOptions } from '../../train/trainer.js';
import type { StepMetrics, TrainerOptimizer, TrainOptions } from '../../train/trainer.js';
import type { FalconH1PipelineStage } from './stage.js';
import { pipelineValueAndGrads } from './step.js';

/** How a run is pipelined. */
export interface PipelineParallelOptions {
  /** Microbatches per step (must divide the batch size). */
  microbatches: number;
  /** How this stage reaches the others (`groupTransport(groups.pp)`). */
  transport: PipelineTransport;
  /** `'1f1b'` (default with one chunk per stage) or `'interleaved'`. */
  schedule?: PipelineScheduleKind;
  /**
   * The stage's data-parallel group (`groups.dp` of `initializeModelParallel`: the same stage of
   * every pipeline replica); its first rank's weights are broadcast before the first step.
   */
  dataParallel?: ProcessGroup;
  /** Gradient bucket size of the data-parallel all-reduce, MiB (default 25). */
  bucketMb?: number;
  /** What a stage keeps from a forward for its backward (see {@link PipelineStepOptions.stash}). */
  stash?: 'activations' | 'inputs';
}

const NORM_TAG = PIPELINE_FREE_TAG + 1; // and + 2
const LOSS_TAG = PIPELINE_FREE_TAG + 3;
const TIED_INIT_TAG = PIPELINE_FREE_TAG + 4;

/** Trains one pipeline stage; every stage of the pipeline runs one, step for step. */
export class PipelineTrainer {
  /** Optimizer steps done so far. */
  step = 0;
  /** AdamW over this stage's parameters. */
  readonly optimizer: TrainerOptimizer;
  private tiedSynced = false;
  private started = false;

  /**
   * @param stage - this stage's part of the model (updated in place)
   * @param data - the global batches (the same on every stage)
   * @param options - hyper-parameters (the same on every stage); `accumulate` must be 1: the microbatches are the accumulation
   * @param parallel - microbatches, transport and schedule
   * @throws when the options are invalid
   */
  constructor(
    readonly stage: FalconH1PipelineStage,
    readonly data: TokenBatches,
    readonly options: TrainOptions,
    readonly parallel: PipelineParallelOptions,
  ) {
    if (!(Number.isInteger(options.steps) && options.steps > 0)) throw new Error(`steps must be a positive integer, got ${options.steps}`);
    if (!(options.lr > 0)) throw new Error(`lr must be positive, got ${options.lr}`);
    if ((options.accumulate ?? 1) !== 1) throw new Error(`accumulate is ${options.accumulate}: under pipeline parallelism the microbatches are the accumulation (set microbatches instead)`);
    const dp = parallel.dataParallel?.size ?? 1;
    if (parallel.dataParallel && parallel.dataParallel.rank < 0) throw new Error(`this process is not a member of the data-parallel group of ranks [${parallel.dataParallel.ranks}]`);
    if (data.batchSize % (dp * parallel.microbatches) !== 0) throw new Error(`the batch size ${data.batchSize} does not split into ${dp} data-parallel replicas × ${parallel.microbatches} microbatches`);
    const vars = stage.variables();
    this.optimizer = new AdamW(vars, adamWOptions(options, vars));
  }

  /** The learning rate of step `s` (0-based), as {@link Trainer.lrAt}. */
  lrAt(s: number): number {
    const o = this.options;
    return warmupCosine(s, { lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmupSteps ?? Math.floor(o.steps * 0.05), minLr: o.minLr });
  }

  private get at() {
    return { stage: this.stage.stage, stages: this.stage.stages };
  }

  /**
   * Make the last stage's copy of the tied embeddings the first stage's (every stage calls it;
   * the first step does it by itself).
   */
  async syncTiedEmbeddings(): Promise<void> {
    const st = this.stage;
    this.tiedSynced = true;
    if (!st.config.base.tie_word_embeddings || st.stages === 1) return;
    const k = 'model.embed_tokens.weight';
    const t = this.parallel.transport;
    if (st.isFirst) await t.send(st.top[k], st.stages - 1, TIED_INIT_TAG);
    else if (st.isLast) {
      const w = await t.recv([...st.top[k].shape], 0, TIED_INIT_TAG);
      st.top[k].assign(w);
      w.dispose();
    }
  }

  /** One optimizer step on every stage (each stage must call it); the metrics are the same on every stage. */
  async trainStep(): Promise<StepMetrics> {
    const { transport, microbatches, schedule, stash, dataParallel: dpGroup } = this.parallel;
    const bucketBytes = (this.parallel.bucketMb ?? 25) * 2 ** 20;
    if (!this.started) {
      if (dpGroup && dpGroup.size > 1) await broadcastParameters(this.stage.variables(), { group: dpGroup, src: dpGroup.ranks[0], bucketBytes });
      if (!this.tiedSynced) await this.syncTiedEmbeddings();
      this.started = true;
    }
    const t0 = performance.now();
    const { inputIds } = this.data.batch(this.step, 0, dpGroup ? { index: dpGroup.rank, count: dpGroup.size } : undefined);
    let out: { loss?: Scalar; grads: Record<string, Tensor> };
    try {
      out = await pipelineValueAndGrads(this.stage, { inputIds }, { microbatches, transport, schedule, stash, recompute: this.options.recompute });
    } finally {
      inputIds.dispose();
    }
    let { loss, grads } = out;
    if (dpGroup && dpGroup.size > 1) {
      const shapes = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.shape]));
      const local = grads;
      grads = await allReduceGradients(local, planBuckets(shapes, bucketBytes), dpGroup);
      tf.dispose(Object.values(local));
      if (loss) {
        const one = tf.reshape(loss, [1]);
        const sum = await allReduce(one, { group: dpGroup }).wait();
        tf.dispose([one, loss]);
        loss = tf.div(tf.reshape(sum, []), dpGroup.size) as Scalar;
        sum.dispose();
      }
    }
    const mine = tf.tidy(() => {
      const parts = Object.entries(grads)
        .filter(([k]) => !(this.stage.holdsTiedCopy && k === 'model.embed_tokens.weight'))
        .map(([, g]) => tf.sum(tf.square(g)));
      return tf.reshape(parts.length === 0 ? tf.scalar(0) : sumInOrder(parts), [1]);
    });
    const total = await stageSum(transport, this.at, mine, NORM_TAG);
    const norm = tf.tidy(() => tf.sqrt(tf.reshape(total, [])) as Scalar);
    tf.dispose([mine, total]);
    const clip = this.options.clip ?? 1;
    const scale = clip > 0 ? clipCoefficient(norm, clip) : undefined;
    const lr = this.lrAt(this.step);
    this.optimizer.step(grads, lr, scale);
    tf.dispose([...Object.values(grads), ...(scale ? [scale] : [])]);
    this.step++;
    const lossIn = loss ? tf.reshape(loss, [1]) : undefined;
    const lossAll = await stageBroadcast(transport, this.at, lossIn, [1], this.stage.stages - 1, LOSS_TAG);
    tf.dispose([...(loss ? [loss] : []), ...(lossIn ? [lossIn] : [])]);
    const [l, n] = await Promise.all([lossAll.data(), norm.data()]);
    tf.dispose([lossAll, norm]);
    const tokens = this.data.batchSize * this.data.seqlen;
    return { step: this.step, loss: l[0], lr, gradNorm: n[0], tokens, tokensPerSec: tokens / ((performance.now() - t0) / 1000) };
  }

  /**
   * Train until `options.steps` (checkpoints are the distributed checkpoints' business).
   * @param onStep - called after every step
   * @param stopAfter - stop after this many steps of this call
   * @returns the metrics of every step run
   */
  async run(onStep?: (m: StepMetrics) => void, stopAfter = Infinity): Promise<StepMetrics[]> {
    const all: StepMetrics[] = [];
    for (let done = 0; this.step < this.options.steps && done < stopAfter; done++) {
      const m = await this.trainStep();
      all.push(m);
      onStep?.(m);
    }
    return all;
  }
}

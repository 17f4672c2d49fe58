/**
 * Data-parallel training: every rank of the data-parallel group runs the same {@link Trainer} on
 * its rows of each global batch (`batchSize / size` of them, see {@link BatchPart}), the gradients
 * are averaged over the group in buckets ({@link allReduceGradients}) and clipped by the norm of
 * the averaged gradient, so `size` ranks train the model one process trains on the same global
 * batch (to float rounding). With `zero: 1` the AdamW state is sharded across the ranks
 * ({@link DistributedOptimizer}: reduce-scatter, sharded update, all-gather).
 *
 * Only rank 0 writes the run directory (metrics, checkpoints); a checkpoint gathers a sharded
 * optimizer state first, so it is the one a single process writes and any layout resumes from it.
 * Every rank restores from the same directory.
 */
import { allGather, allReduceGradients, barrier, broadcastParameters, DistributedOptimizer, getWorld, planBuckets } from '@falcon/parallel';
import type { Bucket, ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { FalconH1ForCausalLM } from '../model.js';
import { AdamW } from './adamw.js';
import type { TokenBatches } from './data.js';
import { adamWOptions, Trainer } from './trainer.js';
import type { StepMetrics, TrainerOptimizer, TrainOptions } from './trainer.js';

/** How a run is data-parallel. */
export interface DataParallelOptions {
  /** The data-parallel group (default the world process group). */
  group?: ProcessGroup;
  /** Gradient bucket size in MiB (default 25, torch DDP's). */
  bucketMb?: number;
  /** 0: AdamW replicated on every rank (default); 1: ZeRO-1, AdamW state sharded across the ranks. */
  zero?: 0 | 1;
}

/** A {@link Trainer} whose steps run data-parallel over a process group. */
export class DataParallelTrainer extends Trainer {
  /** The data-parallel group. */
  readonly group: ProcessGroup;
  /** The ZeRO level (0 or 1). */
  readonly zero: 0 | 1;
  private readonly bucketBytes: number;
  private buckets: Bucket[] | undefined;
  private readonly distributed: DistributedOptimizer | undefined;
  private synced = false;

  /**
   * @param model - the model (the same initial weights on every rank; rank 0's are broadcast before the first step)
   * @param data - the global batches (the same on every rank; each rank takes its rows)
   * @param options - hyper-parameters (the same on every rank)
   * @param dir - the run directory (written by rank 0 only)
   * @param parallel - the group, the bucket size and the ZeRO level
   * @param info - facts about the run saved with every checkpoint (see {@link Trainer})
   * @throws when the batch size is not divisible by the group size, this process is not in the group, or the options are invalid
   */
  constructor(model: FalconH1ForCausalLM, data: TokenBatches, options: TrainOptions, dir: string, parallel: DataParallelOptions = {}, info: Record<string, unknown> = {}) {
    super(model, data, options, dir, info);
    this.group = parallel.group ?? getWorld();
    if (this.group.rank < 0) throw new Error(`this process is not a member of the data-parallel group of ranks [${this.group.ranks}]`);
    this.zero = parallel.zero ?? 0;
    if (this.zero !== 0 && this.zero !== 1) throw new Error(`zero must be 0 or 1, got ${String(parallel.zero)}`);
    const mb = parallel.bucketMb ?? 25;
    if (!(mb > 0)) throw new Error(`the bucket size must be positive, got ${mb} MiB`);
    this.bucketBytes = mb * 2 ** 20;
    if (data.batchSize % this.group.size !== 0) throw new Error(`the batch size ${data.batchSize} (the global batch) is not divisible by the ${this.group.size} data-parallel ranks`);
    if (this.zero === 1) {
      const vars = model.variables();
      const opts = adamWOptions(options, vars);
      this.distributed = new DistributedOptimizer(vars, { inner: (shards) => new AdamW(shards, opts), slots: ['m', 'v'], group: this.group, bucketBytes: this.bucketBytes });
    }
  }

  protected override createOptimizer(): TrainerOptimizer {
    const dist = this.distributed;
    if (!dist) return super.createOptimizer();
    return {
      step: () => {
        throw new Error('DataParallelTrainer: a ZeRO-1 step is collective; it runs in nextStep()');
      },
      state: () => dist.state(),
      loadState: (tensors, step) => dist.loadState(tensors, step),
    };
  }

  protected override get writesRun(): boolean {
    return this.group.rank === 0;
  }

  /** Not available: a data-parallel step is collective (`run()` or {@link DataParallelTrainer.trainStepAsync} take them). */
  override trainStep(): Promise<StepMetrics> {
    throw new Error('DataParallelTrainer.trainStep: a data-parallel step is asynchronous; use run() or trainStepAsync()');
  }

  /** One data-parallel optimizer step on every rank (each rank must call it). */
  async trainStepAsync(): Promise<StepMetrics> {
    if (!this.synced) {
      await broadcastParameters(this.model.variables(), { group: this.group, src: this.group.ranks[0], bucketBytes: this.bucketBytes });
      this.distributed?.readParameters();
      this.synced = true;
    }
    const t0 = performance.now();
    const { grads, loss } = this.localGradients({ index: this.group.rank, count: this.group.size });
    // every rank's mean loss (a float32 device scalar, as the plain trainer's), gathered and averaged
    // in rank order: one rank reports what the plain trainer reports
    const lossIn = tf.reshape(loss, [1]);
    loss.dispose();
    const lossOut = allGather(lossIn, { group: this.group }).wait();
    let lr = this.lrAt(this.step);
    let gradNorm: number;
    try {
      if (this.distributed) {
        ({ gradNorm } = await this.distributed.step(grads, lr, this.options.clip ?? 1));
        this.step++;
      } else {
        this.buckets ??= planBuckets(Object.fromEntries(Object.entries(this.model.variables()).map(([k, v]) => [k, v.shape])), this.bucketBytes);
        const reduced = await allReduceGradients(grads, this.buckets, this.group);
        const applied = this.applyGradients(reduced); // clips, AdamW, disposes `reduced`
        lr = applied.lr;
        gradNorm = (await applied.gradNorm.data())[0];
        applied.gradNorm.dispose();
      }
    } finally {
      tf.dispose(Object.values(grads));
      await lossOut.catch(() => undefined);
      lossIn.dispose();
    }
    const lossT = await lossOut;
    const losses = await lossT.data();
    lossT.dispose();
    let lossSum = 0;
    for (let r = 0; r < this.group.size; r++) lossSum += losses[r];
    const meanLoss = lossSum / this.group.size;
    return this.stepMetrics(t0, meanLoss, lr, gradNorm);
  }

  protected override nextStep(): Promise<StepMetrics> {
    return this.trainStepAsync();
  }

  /**
   * Save a checkpoint (a collective: every rank must call it): with ZeRO-1 the optimizer state is
   * gathered first; rank 0 writes; then every rank waits for it.
   */
  override async save(): Promise<void> {
    if (this.distributed) await this.distributed.gatherState();
    try {
      if (this.group.rank === 0) await super.save();
    } finally {
      this.distributed?.releaseState();
    }
    await barrier({ group: this.group }).wait();
  }
}

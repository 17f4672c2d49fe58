/**
 * ZeRO-1 (Megatron's distributed optimizer): the optimizer state is sharded across the
 * data-parallel ranks. Each bucket's flat buffer (see {@link planBuckets}, padded to a multiple of
 * the group size) is split into `size` equal slices; rank r owns slice r of every bucket. A step:
 *
 * 1. every bucket's gradient buffer is reduce-scattered (average): rank r receives the averaged
 *    gradient of its slices only (started asynchronously, last parameters first, so the
 *    collective of one bucket overlaps the packing of the next);
 * 2. the global gradient norm is the square root of the all-reduced sum of the slices' squares,
 *    and the slices are clipped with it (torch's `clip_grad_norm_` on the full gradient);
 * 3. the inner optimizer (e.g. AdamW) updates the rank's fp32 master copy of its slices, with its
 *    state (m, v) for those slices only;
 * 4. every bucket's updated slices are all-gathered and written into the parameters.
 *
 * The per-element update is the inner optimizer's, so the result equals the unsharded optimizer's
 * to float rounding (the averaged gradient and the norm are summed in another order). Checkpoints
 * gather the state first ({@link DistributedOptimizer.gatherState}), so they are independent of the
 * number of ranks; {@link DistributedOptimizer.loadState} takes such a full state.
 */
import { clipCoefficient, sumInOrder, tf, variableFrom } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { allGather } from '../collectives/all_gather.js';
import { allReduce } from '../collectives/all_reduce.js';
import { reduceScatter } from '../collectives/reduce_scatter.js';
import { getWorld } from '../process_group.js';
import type { ProcessGroup } from '../process_group.js';
import { packBucket, planBuckets } from './buckets.js';
import type { Bucket } from './buckets.js';

/** The optimizer a {@link DistributedOptimizer} runs on each rank's shard (AdamW has this shape). */
export interface ShardOptimizer {
  /** Update the shard's variables with their gradients (same names, same 1-D shapes). */
  step(grads: Record<string, Tensor>, lr: number): void;
  /** Its state: tensors keyed `<slot>.<variable name>` with the variable's shape, and its step count. */
  state(): { tensors: Record<string, Tensor>; step: number };
  /** Restore such a state. */
  loadState(tensors: Record<string, Tensor>, step: number): void;
  /** Free its state. */
  dispose?(): void;
}

/** Options of {@link DistributedOptimizer}. */
export interface DistributedOptimizerOptions {
  /**
   * Make the inner optimizer over this rank's master shards: 1-D fp32 variables named like the
   * parameter they are a piece of (a rank holds at most one piece of each parameter).
   */
  inner: (shards: Record<string, Variable>) => ShardOptimizer;
  /** The state slots of the inner optimizer (AdamW: `['m', 'v']`). */
  slots: string[];
  /** The data-parallel group (default the world). */
  group?: ProcessGroup;
  /** Bucket size in bytes (default 25 MiB). */
  bucketBytes?: number;
}

/** This rank's piece of one parameter. */
interface Piece {
  name: string;
  bucket: number;
  /** Element range of the flattened parameter. */
  start: number;
  end: number;
  /** Offset in the rank's slice of the bucket. */
  at: number;
}

/** AdamW (or another element-wise optimizer) with its state sharded across data-parallel ranks. */
export class DistributedOptimizer {
  /** The communication layout (the same on every rank). */
  readonly buckets: Bucket[];
  private readonly group: ProcessGroup;
  private readonly pieces: Piece[] = [];
  private readonly masters: Record<string, Variable> = {};
  private readonly inner: ShardOptimizer;
  private gathered: { tensors: Record<string, Tensor>; step: number } | undefined;

  /**
   * @param params - the model's parameters by name (the same on every rank); updated in place by {@link step}
   * @param options - the inner optimizer, its state slots, the group and the bucket size
   */
  constructor(
    private readonly params: Record<string, Variable>,
    private readonly options: DistributedOptimizerOptions,
  ) {
    this.group = options.group ?? getWorld();
    const shapes = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
    this.buckets = planBuckets(shapes, options.bucketBytes ?? 25 * 2 ** 20, this.group.size);
    const me = this.group.rank;
    this.buckets.forEach((b, bi) => {
      const chunk = b.padded / this.group.size;
      const lo = me * chunk;
      const hi = lo + chunk;
      for (const e of b.entries) {
        const s = Math.max(lo, e.offset);
        const t = Math.min(hi, e.offset + e.size);
        if (s < t) this.pieces.push({ name: e.name, bucket: bi, start: s - e.offset, end: t - e.offset, at: s - lo });
      }
    });
    this.readParameters();
    this.inner = options.inner(this.masters);
  }

  /** Elements of the optimizer state this rank holds per slot (its share of the parameters). */
  get shardNumel(): number {
    return this.pieces.reduce((a, p) => a + p.end - p.start, 0);
  }

  /** (Re)read the fp32 master copies of this rank's pieces from the parameters (after the parameters were set from outside, e.g. broadcast or loaded). */
  readParameters(): void {
    for (const p of this.pieces) {
      const piece = tf.tidy(() => tf.slice(tf.reshape(tf.cast(this.params[p.name], 'float32'), [-1]), [p.start], [p.end - p.start]));
      if (this.masters[p.name]) {
        this.masters[p.name].assign(piece);
        piece.dispose();
      } else this.masters[p.name] = variableFrom(piece, false);
    }
  }

  /** This rank's slice of bucket `bi`, packed from tensors keyed by parameter name (1-D pieces). */
  private packSlice(bi: number, pieces: Record<string, Tensor>): Tensor {
    const chunk = this.buckets[bi].padded / this.group.size;
    return tf.tidy(() => {
      const mine = this.pieces.filter((p) => p.bucket === bi);
      const parts: Tensor[] = mine.map((p) => pieces[p.name]);
      const used = mine.reduce((a, p) => a + p.end - p.start, 0);
      if (used < chunk) parts.push(tf.zeros([chunk - used]));
      return parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts);
    });
  }

  /** All-gather every bucket's slices (packed by `slice(bi)`) and hand each full flat bucket to `use`. */
  private async gatherBuckets(slice: (bi: number) => Tensor, use: (bi: number, flat: Tensor) => void): Promise<void> {
    const inFlight: { input: Tensor; result: Promise<Tensor> }[] = [];
    try {
      for (let bi = 0; bi < this.buckets.length; bi++) {
        const input = slice(bi);
        inFlight.push({ input, result: allGather(input, { group: this.group }).wait() });
      }
      for (let bi = 0; bi < this.buckets.length; bi++) {
        const flat = await inFlight[bi].result;
        try {
          use(bi, flat);
        } finally {
          flat.dispose();
        }
      }
    } finally {
      await Promise.allSettled(inFlight.map((w) => w.result));
      for (const w of inFlight) w.input.dispose();
    }
  }

  /**
   * One step: reduce-scatter the gradients, clip by the global norm, update this rank's shard,
   * all-gather the parameters.
   * @param grads - this rank's local gradients by parameter name (not disposed)
   * @param lr - the learning rate
   * @param clip - clip to this global norm (0 or undefined: no clipping)
   * @returns the global norm of the averaged gradient before clipping
   * @throws a CollectiveError when a rank is missing or dies (within the group's timeout)
   */
  async step(grads: Record<string, Tensor>, lr: number, clip = 0): Promise<{ gradNorm: number }> {
    for (const name of Object.keys(this.params)) if (!grads[name]) throw new Error(`DistributedOptimizer.step: no gradient for '${name}'`);
    // 1. reduce-scatter every bucket (average over the group)
    const inFlight: { input: Tensor; result: Promise<Tensor> }[] = [];
    const shardGrads: Record<string, Tensor> = {};
    try {
      for (const b of this.buckets) {
        const input = packBucket(b, grads);
        inFlight.push({ input, result: reduceScatter(input, { op: 'avg', group: this.group }).wait() });
      }
      for (let bi = 0; bi < this.buckets.length; bi++) {
        const mine = await inFlight[bi].result;
        for (const p of this.pieces) if (p.bucket === bi) shardGrads[p.name] = tf.slice(mine, [p.at], [p.end - p.start]);
        mine.dispose();
      }
    } catch (e) {
      tf.dispose(Object.values(shardGrads));
      throw e;
    } finally {
      await Promise.allSettled(inFlight.map((w) => w.result));
      for (const w of inFlight) w.input.dispose();
    }
    // 2. the global norm from every rank's share of the squares, then clipping as clipByGlobalNorm
    let update = shardGrads;
    let gradNorm: number;
    try {
      // the squares are summed in the order of `grads` (one rank adds exactly as clipByGlobalNorm does)
      const sq = tf.tidy(() => {
        const parts = Object.keys(grads)
          .filter((k) => shardGrads[k])
          .map((k) => tf.sum(tf.square(shardGrads[k])));
        return parts.length ? tf.reshape(sumInOrder(parts), [1]) : tf.zeros([1]);
      });
      const total = await allReduce(sq, { op: 'sum', group: this.group })
        .wait()
        .finally(() => sq.dispose());
      const norm = tf.sqrt(total);
      // the coefficient on the device, as the plain trainer computes it (clipCoefficient), so both clip to the same bits
      const scale = clip > 0 ? clipCoefficient(norm, clip) : undefined;
      gradNorm = (await norm.data())[0];
      tf.dispose([total, norm]);
      if (scale) {
        update = Object.fromEntries(Object.entries(shardGrads).map(([k, g]) => [k, tf.mul(g, scale)]));
        tf.dispose([...Object.values(shardGrads), scale]);
      }
      // 3. the inner optimizer on this rank's shard
      this.inner.step(update, lr);
    } finally {
      tf.dispose(Object.values(update));
    }
    // 4. all-gather the updated parameters
    await this.gatherBuckets(
      (bi) => this.packSlice(bi, this.masters),
      (bi, flat) => {
        for (const e of this.buckets[bi].entries) {
          const p = this.params[e.name];
          p.assign(tf.tidy(() => tf.cast(tf.reshape(tf.slice(flat, [e.offset], [e.size]), e.shape), p.dtype)));
        }
      },
    );
    return { gradNorm };
  }

  /**
   * Gather the full optimizer state onto every rank (a collective: every rank must call it), keyed
   * and shaped as the unsharded inner optimizer's (`m.<name>` of the parameter's shape, ...); held
   * until {@link DistributedOptimizer.releaseState}. {@link DistributedOptimizer.state} returns it.
   * @returns the full state
   */
  async gatherState(): Promise<{ tensors: Record<string, Tensor>; step: number }> {
    this.releaseState();
    const local = this.inner.state();
    const tensors: Record<string, Tensor> = {};
    try {
      for (const slot of this.options.slots) {
        const pieces: Record<string, Tensor> = {};
        for (const p of this.pieces) {
          const t = local.tensors[`${slot}.${p.name}`];
          if (!t) throw new Error(`DistributedOptimizer: the inner optimizer's state has no '${slot}.${p.name}'`);
          pieces[p.name] = t;
        }
        await this.gatherBuckets(
          (bi) => this.packSlice(bi, pieces),
          (bi, flat) => {
            for (const e of this.buckets[bi].entries) tensors[`${slot}.${e.name}`] = tf.tidy(() => tf.reshape(tf.slice(flat, [e.offset], [e.size]), e.shape));
          },
        );
      }
    } catch (e) {
      tf.dispose(Object.values(tensors));
      throw e;
    }
    this.gathered = { tensors, step: local.step };
    return this.gathered;
  }

  /** Free the state gathered by {@link DistributedOptimizer.gatherState}. */
  releaseState(): void {
    if (this.gathered) tf.dispose(Object.values(this.gathered.tensors));
    this.gathered = undefined;
  }

  /**
   * The full state gathered by {@link DistributedOptimizer.gatherState} (for a checkpoint).
   * @throws when it was not gathered
   */
  state(): { tensors: Record<string, Tensor>; step: number } {
    if (!this.gathered) throw new Error('DistributedOptimizer.state: the state is sharded; call gatherState() on every rank first');
    return this.gathered;
  }

  /**
   * Load a full (unsharded) state, as written from {@link DistributedOptimizer.state} or by the
   * unsharded optimizer: each rank keeps its pieces. Also re-reads the master copies from the
   * parameters (load the model's weights first).
   * @param tensors - `<slot>.<name>` of each parameter's shape
   * @param step - the inner optimizer's step count
   * @throws naming a missing or misshapen tensor
   */
  loadState(tensors: Record<string, Tensor>, step: number): void {
    for (const slot of this.options.slots) {
      for (const [name, v] of Object.entries(this.params)) {
        const t = tensors[`${slot}.${name}`];
        if (!t) throw new Error(`optimizer state: '${slot}.${name}' is missing`);
        if (!tf.util.arraysEqual(t.shape, v.shape)) throw new Error(`optimizer state: '${slot}.${name}' has shape [${t.shape}], expected [${v.shape}]`);
      }
    }
    this.readParameters();
    const mine: Record<string, Tensor> = {};
    try {
      for (const slot of this.options.slots) {
        for (const p of this.pieces) mine[`${slot}.${p.name}`] = tf.tidy(() => tf.slice(tf.reshape(tensors[`${slot}.${p.name}`], [-1]), [p.start], [p.end - p.start]));
      }
      this.inner.loadState(mine, step);
    } finally {
      tf.dispose(Object.values(mine));
    }
  }

  /** Free the master copies, the inner optimizer's state and any gathered state. */
  dispose(): void {
    this.releaseState();
    this.inner.dispose?.();
    for (const v of Object.values(this.masters)) v.dispose();
  }
}

/**
 * Deterministic batches from a token stream: batch `i` of a run is a function of (seed, i) alone,
 * so a resumed run sees exactly the batches an uninterrupted one would.
 */
import { Rng, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';

/** A batch for causal language modelling. */
export interface Batch {
  /** Token ids, int32 `[batch, seqlen]`. */
  inputIds: Tensor2D;
  /** Labels (= inputIds; the loss shifts them), int32 `[batch, seqlen]`. */
  labels: Tensor2D;
}

/** One data-parallel rank's share of a global batch: rows `[index·b/count, (index+1)·b/count)`. */
export interface BatchPart {
  /** This rank's index in the data-parallel group. */
  index: number;
  /** Ranks in the data-parallel group (must divide the batch size). */
  count: number;
}

/** Samples windows of `seqlen` tokens at seeded random offsets of a token stream. */
export class TokenBatches {
  /**
   * @param tokens - the whole training stream
   * @param batchSize - sequences per batch
   * @param seqlen - tokens per sequence
   * @param seed - the run's data seed
   */
  constructor(
    readonly tokens: Int32Array,
    readonly batchSize: number,
    readonly seqlen: number,
    readonly seed: number,
  ) {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(seqlen) && seqlen > 1)) throw new Error(`sequence length must be an integer > 1, got ${seqlen}`);
    if (tokens.length < seqlen + 1) throw new Error(`the corpus has ${tokens.length} tokens, fewer than one sequence of ${seqlen + 1}`);
  }

  /**
   * The batch of step `step` (0-based; microbatch `micro` when accumulating), `[batchSize, seqlen]`;
   * with `part`, only that rank's rows of it, `[batchSize/count, seqlen]` (the global batch is the
   * same whatever the number of ranks, so data-parallel runs see the data of a single-process run).
   */
  batch(step: number, micro = 0, part?: BatchPart): Batch {
    const count = part?.count ?? 1;
    const index = part?.index ?? 0;
    if (!(Number.isInteger(count) && count > 0 && Number.isInteger(index) && index >= 0 && index < count)) throw new Error(`batch part ${index} of ${count} is not a rank of a data-parallel group`);
    if (this.batchSize % count !== 0) throw new Error(`the batch size ${this.batchSize} is not divisible by the ${count} data-parallel ranks`);
    const rows = this.batchSize / count;
    const rng = new Rng((this.seed * 1_000_003 + step * 1009 + micro * 7919) >>> 0);
    const ids = new Int32Array(rows * this.seqlen);
    const span = this.tokens.length - this.seqlen;
    for (let b = 0; b < this.batchSize; b++) {
      const start = rng.int(span + 1);
      const r = b - index * rows;
      if (r >= 0 && r < rows) ids.set(this.tokens.subarray(start, start + this.seqlen), r * this.seqlen);
    }
    const inputIds = tf.tensor2d(ids, [rows, this.seqlen], 'int32');
    return { inputIds, labels: inputIds };
  }
}

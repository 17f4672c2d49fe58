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

  /** The batch of step `step` (0-based; microbatch `micro` when accumulating). */
  batch(step: number, micro = 0): Batch {
    const rng = new Rng((this.seed * 1_000_003 + step * 1009 + micro * 7919) >>> 0);
    const ids = new Int32Array(this.batchSize * this.seqlen);
    const span = this.tokens.length - this.seqlen;
    for (let b = 0; b < this.batchSize; b++) {
      const start = rng.int(span + 1);
      ids.set(this.tokens.subarray(start, start + this.seqlen), b * this.seqlen);
    }
    const inputIds = tf.tensor2d(ids, [this.batchSize, this.seqlen], 'int32');
    return { inputIds, labels: inputIds };
  }
}

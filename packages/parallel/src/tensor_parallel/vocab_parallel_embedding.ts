/**
 * `vocabParallelEmbedding`: an embedding table `[V, d]` split by rows across the tensor-parallel
 * group; each rank looks up the ids in its rows (zeros for the others) and the partial embeddings
 * are summed over the group (SP: reduce-scattered along the sequence).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { TensorParallelOptions } from './region.js';
import { exitTensorParallel } from './region.js';

/** Options of {@link vocabParallelEmbedding}. */
export interface VocabParallelEmbeddingOptions extends TensorParallelOptions {
  /** The first vocabulary row this rank holds. */
  vocabStart: number;
}

/**
 * Embeddings of `ids` from a vocab-parallel table.
 * @param ids - int32 `[batch, seqlen]`
 * @param weight - this rank's rows `[vocabEnd − vocabStart, d]`
 * @returns `[batch, seqlen, d]` (SP: `[batch, seqlen/t, d]`), the same on every rank
 */
export function vocabParallelEmbedding(ids: Tensor, weight: Tensor, opts: VocabParallelEmbeddingOptions): Tensor {
  if (ids.rank !== 2 || ids.dtype !== 'int32') throw new Error(`vocabParallelEmbedding: ids must be int32 [batch, seqlen], got ${ids.dtype} [${ids.shape}]`);
  if (weight.rank !== 2) throw new Error(`vocabParallelEmbedding: the weight shard must be [rows, d], got [${weight.shape}]`);
  return tf.tidy(() => {
    const rows = weight.shape[0];
    const local = tf.sub(ids, tf.scalar(opts.vocabStart, 'int32'));
    const mine = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, rows));
    const e = tf.gather(weight, tf.where(mine, local, tf.zerosLike(local)));
    const partial = tf.mul(e, tf.expandDims(tf.cast(mine, 'float32'), -1));
    return exitTensorParallel(partial, opts);
  });
}

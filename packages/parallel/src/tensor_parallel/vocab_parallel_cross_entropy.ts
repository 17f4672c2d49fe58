/**
 * `vocabParallelCrossEntropy`: cross-entropy of logits split by vocabulary across the
 * tensor-parallel group, without ever gathering the full logits: the row maximum, the sum of
 * `exp(logit − max)` and the target's logit are all-reduced (`[rows]` each); the gradient
 * `softmax − onehot` is computed locally from them.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduceSync } from '../collectives/all_reduce.js';
import type { ProcessGroup } from '../process_group.js';

/** Options of {@link vocabParallelCrossEntropy}. */
export interface VocabParallelCrossEntropyOptions {
  /** The first vocabulary entry of this rank's logits. */
  vocabStart: number;
  /** The tensor-parallel group (default: the world). */
  group?: ProcessGroup;
  /** Targets equal to it have loss 0 and no gradient (default −100). */
  ignoreIndex?: number;
}

/**
 * Per-row cross-entropy `logsumexp(z) − z[target]` over the whole vocabulary.
 * @param logits - this rank's vocabulary slice `[rows, V_local]`
 * @param targets - int32 `[rows]` global vocabulary ids (the same on every rank)
 * @returns `[rows]` (0 where the target is ignoreIndex); differentiable with respect to logits
 */
export function vocabParallelCrossEntropy(logits: Tensor, targets: Tensor, opts: VocabParallelCrossEntropyOptions): Tensor {
  if (logits.rank !== 2) throw new Error(`vocabParallelCrossEntropy: logits must be [rows, V_local], got [${logits.shape}]`);
  if (targets.rank !== 1 || targets.dtype !== 'int32' || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`vocabParallelCrossEntropy: targets must be int32 [${logits.shape[0]}], got ${targets.dtype} [${targets.shape}]`);
  }
  const group = opts.group;
  const ignore = opts.ignoreIndex ?? -100;
  const [rows, vLocal] = logits.shape;
  // (made in the caller's scope: the backward reads them from the saved list)
  const { onehot, valid } = tf.tidy(() => {
    const local = tf.sub(targets, tf.scalar(opts.vocabStart, 'int32'));
    const mine = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, vLocal));
    return {
      onehot: tf.mul(tf.oneHot(tf.where(mine, local, tf.zerosLike(local)), vLocal), tf.expandDims(tf.cast(mine, 'float32'), 1)),
      valid: tf.cast(tf.notEqual(targets, ignore), 'float32'),
    };
  });
  const f = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [Tensor, tf.GradSaveFunc];
    // the max is a shift only (any constant gives the same value and gradient): no gradient through it
    const max = allReduceSync(rows > 0 ? tf.max(z, 1) : tf.zeros([0]), { group, op: 'max' });
    const shifted = tf.sub(z, tf.expandDims(max, 1));
    const sumExp = allReduceSync(tf.sum(tf.exp(shifted), 1), { group });
    const picked = allReduceSync(tf.sum(tf.mul(shifted, onehot), 1), { group });
    const loss = tf.mul(tf.sub(tf.log(sumExp), picked), valid);
    save([shifted, sumExp, onehot, valid]);
    return {
      value: loss,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [s, se, oh, ok] = saved;
        const softmax = tf.div(tf.exp(s), tf.expandDims(se, 1));
        return tf.mul(tf.sub(softmax, oh), tf.expandDims(tf.mul(dy, ok), 1));
      },
    };
  });
  return f(logits) as Tensor;
}

/** Causal language-modelling loss: mean cross-entropy of logits[:, :-1] against labels[:, 1:], −100 ignored. */
import { tf } from '@falcon/tensor';
import type { Scalar, Tensor } from '@falcon/tensor';

/** The label value that is left out of the loss (as in transformers). */
export const IGNORE_INDEX = -100;

/**
 * @param logits - `[batch, seqlen, V]`
 * @param labels - int32 `[batch, seqlen]` (usually the input ids; shifted here)
 * @returns the mean over positions whose next label is not −100 (0 when there is none)
 */
export function causalLmLoss(logits: Tensor, labels: Tensor): Scalar {
  const [b, l, v] = logits.shape;
  if (labels.shape.length !== 2 || labels.shape[0] !== b || labels.shape[1] !== l) {
    throw new Error(`causalLmLoss: labels have shape [${labels.shape}], expected [${b}, ${l}] (like the input ids)`);
  }
  return tf.tidy(() => {
    const n = b * (l - 1);
    const lg = tf.reshape(tf.slice(logits, [0, 0, 0], [b, l - 1, v]), [n, v]);
    const lb = tf.reshape(tf.slice(tf.cast(labels, 'int32'), [0, 1], [b, l - 1]), [n]);
    const valid = tf.cast(tf.notEqual(lb, IGNORE_INDEX), 'float32');
    const safe = tf.mul(tf.cast(valid, 'int32'), lb);
    const lse = tf.logSumExp(lg, 1);
    // pick logits[i, label_i] from the flattened logits (its gradient is a scatter into [n·V])
    const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), safe);
    const picked = tf.gather(tf.reshape(lg, [n * v]), flat);
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.div(tf.sum(tf.mul(tf.sub(lse, picked), valid)), count) as Scalar;
  });
}

/** Causal language-modelling loss: mean cross-entropy of logits[:, :-1] against labels[:, 1:], −100 ignored (from the logits, or chunked from the hidden states). */
import { linearCrossEntropy, tf } from '@falcon/tensor';
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

/** Options of {@link lmHeadCrossEntropy}. */
export interface LmHeadLossOptions {
  /** The logits' multiplier (`lm_head_multiplier`); default 1. */
  multiplier?: number;
  /** Tokens whose logits are computed at once (default: see `defaultCrossEntropyChunk` of @falcon/tensor). */
  chunkSize?: number;
}

/**
 * The causal LM loss straight from the final hidden states, without the full logits: the same
 * value and gradients as `causalLmLoss(head(hidden), labels)` with `head(h) = (h · Wᵀ)·multiplier`,
 * computed by `linearCrossEntropy` over chunks of tokens (each chunk's logits recomputed in the
 * backward), so memory is O(chunk × vocab) instead of O(batch · seqlen × vocab).
 * @param hidden - `[batch, seqlen, d]` (after the final norm)
 * @param weight - `[vocab, d]` (lm_head, or the tied embeddings)
 * @param labels - int32 `[batch, seqlen]` (usually the input ids; shifted here; −100 ignored)
 * @returns the mean over positions whose next label is not −100 (0 when there is none)
 */
export function lmHeadCrossEntropy(hidden: Tensor, weight: Tensor, labels: Tensor, options: LmHeadLossOptions = {}): Scalar {
  const [b, l, d] = hidden.shape;
  if (hidden.rank !== 3) throw new Error(`lmHeadCrossEntropy: hidden states must be [batch, seqlen, d], got shape [${hidden.shape}]`);
  if (labels.shape.length !== 2 || labels.shape[0] !== b || labels.shape[1] !== l) {
    throw new Error(`lmHeadCrossEntropy: labels have shape [${labels.shape}], expected [${b}, ${l}] (like the input ids)`);
  }
  return tf.tidy(() => {
    const n = b * (l - 1);
    const h = tf.reshape(tf.slice(hidden, [0, 0, 0], [b, l - 1, d]), [n, d]);
    const lb = tf.reshape(tf.slice(tf.cast(labels, 'int32'), [0, 1], [b, l - 1]), [n]);
    return linearCrossEntropy(h, weight, lb, { scale: options.multiplier ?? 1, chunkSize: options.chunkSize, ignoreIndex: IGNORE_INDEX });
  });
}

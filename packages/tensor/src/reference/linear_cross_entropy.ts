/**
 * The reference of `linearCrossEntropy`, written plainly with tfjs ops (differentiable by tfjs
 * autodiff): the full logits `(x · Wᵀ)·scale`, their log-sum-exp, and the mean over the rows whose
 * label is not `ignoreIndex` of `lse − logits[label]` (0 when every row is ignored). It holds the
 * whole `[rows, vocab]` logits (and autodiff keeps them and their softmax for the backward); it is
 * the definition of correct that the chunked op is tested against.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Reference linear + cross-entropy.
 *
 * @param x - `[rows, d]`, float32 (e.g. the final hidden states, one row per token)
 * @param weight - `[vocab, d]`, float32 (e.g. `lm_head.weight`)
 * @param labels - int32 `[rows]`: each row's target in `[0, vocab)`, or `ignoreIndex`
 * @param scale - the logits' multiplier (e.g. `lm_head_multiplier`)
 * @param ignoreIndex - the label left out of the mean (default −100, as in transformers)
 * @returns the scalar mean loss
 */
export function linearCrossEntropyReference(x: tf.Tensor, weight: tf.Tensor, labels: tf.Tensor, scale = 1, ignoreIndex = -100): tf.Scalar {
  return tf.tidy(() => {
    const [n] = x.shape;
    const v = weight.shape[0];
    const logits = tf.mul(tf.matMul(x, weight, false, true), scale);
    const valid = tf.cast(tf.notEqual(labels, ignoreIndex), 'float32');
    const safe = tf.mul(tf.cast(valid, 'int32'), labels);
    const lse = tf.logSumExp(logits, 1);
    const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), safe);
    const picked = tf.gather(tf.reshape(logits, [n * v]), flat);
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.div(tf.sum(tf.mul(tf.sub(lse, picked), valid)), count) as tf.Scalar;
  });
}

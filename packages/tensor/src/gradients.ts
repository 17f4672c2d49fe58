/**
 * Gradients that replace tfjs-core's own: `Sum` and `Mean` (below), and `Cumsum` (at the end: tfjs-core's is wrong off the last axis).
 * For `Sum` and `Mean`, tfjs computes both as
 * `dy · ones(x.shape)`, and `ones` fills a host array of x's size that a GPU backend must then
 * upload (for the loss's log-sum-exp over the vocabulary: 268 MB per training step at the
 * Falcon-H1-0.5B shapes). Broadcasting `dy` instead gives the same values with no host data.
 * Registered on import of `tf.ts`, after tfjs-core's gradients.
 */
import * as tf from '@tensorflow/tfjs-core';

/** dy reshaped to x's rank (reduced axes of length 1) and broadcast to x's shape. */
function spread(dy: tf.Tensor, x: tf.Tensor, axis: number | number[] | undefined): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  // broadcastTo cannot make an empty tensor out of a non-empty one
  if (x.size === 0) return tf.zeros(x.shape, dy.dtype);
  return tf.broadcastTo(tf.reshape(dy, shape), x.shape);
}

tf.registerGradient({
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis } = attrs as unknown as tf.SumAttrs;
    return { x: () => tf.cast(spread(dy as tf.Tensor, x, axis), 'float32') };
  },
});

tf.registerGradient({
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis } = attrs as unknown as tf.MeanAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const n = axes.reduce((p, a) => p * x.shape[a], 1);
    return { x: () => tf.div(tf.cast(spread(dy as tf.Tensor, x, axis), 'float32'), n) };
  },
});

// tfjs-core's Cumsum gradient transposes its (already correctly shaped) result whenever the axis
// is not the last one, which is wrong (silently, when the two swapped axes have equal lengths).
// The gradient of an inclusive/exclusive cumulative sum is the cumulative sum of dy the other way.
tf.registerGradient({
  kernelName: tf.Cumsum,
  gradFunc: (dy, _saved, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as tf.CumsumAttrs;
    return { x: () => tf.cumsum(dy as tf.Tensor, axis, exclusive, !reverse) };
  },
});

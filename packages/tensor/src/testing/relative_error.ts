/** The relative error of two tensors or arrays, shared by the test helpers and `compareBackends`. */
import * as tf from '@tensorflow/tfjs-core';

/** The values of a tensor (read synchronously) or an array. @internal */
export function values(t: tf.Tensor | ArrayLike<number>): ArrayLike<number> {
  return t instanceof tf.Tensor ? (t.dataSync() as ArrayLike<number>) : t;
}

/**
 * ‖actual − expected‖₂ / ‖expected‖₂ (or the absolute norm when `expected` is all zeros).
 * @param actual - tensor or array @param expected - tensor or array of the same size
 */
export function relativeError(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>): number {
  const a = values(actual);
  const e = values(expected);
  if (a.length !== e.length) throw new Error(`relativeError: sizes differ (${a.length} vs ${e.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - e[i]) ** 2;
    den += e[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

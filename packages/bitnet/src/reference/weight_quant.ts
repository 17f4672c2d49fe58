/**
 * Reference of {@link weightQuant}, plainly from the spec (section 4): per-tensor absmean ternary
 * quantisation `s = 1 / max(mean|W|, 1e-5)`, `Wq = clip(round(W·s), −1, 1)`, output `Wq / s`; the
 * gradient is the straight-through estimator (dW = dy). Written with tfjs ops (round is
 * round-half-to-even, as torch.round).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * The forward of the reference, without the STE (what a composite kernel runs).
 * @param w - weight, any shape @param meanAbs - optional mean|W| (`[]` or `[1]`)
 */
export function weightQuantForward(w: Tensor, meanAbs?: Tensor): { y: Tensor; scale: Tensor } {
  const m = meanAbs ? tf.reshape(meanAbs, [1]) : tf.reshape(tf.mean(tf.abs(w)), [1]);
  const scale = tf.div(1, tf.maximum(m, 1e-5));
  const q = tf.clipByValue(tf.round(tf.mul(w, scale)), -1, 1);
  return { y: tf.div(q, scale), scale };
}

/**
 * @param w - weight, any shape (usually `[out, in]`)
 * @param meanAbs - optional mean|W| of the whole weight (`[]` or `[1]`), e.g. gathered across
 *   tensor-parallel shards; default the mean of `|w|`
 * @returns `y` (dequantised weight, shape of `w`; gradient dy → dW unchanged) and `scale` (`[1]`, 1/max(mean|W|, 1e-5))
 */
export function weightQuantReference(w: Tensor, meanAbs?: Tensor): { y: Tensor; scale: Tensor } {
  const scale = tf.tidy(() => weightQuantForward(w, meanAbs).scale);
  const ste = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const wIn = args[0] as Tensor;
    (args[1] as tf.GradSaveFunc)([]);
    return { value: tf.tidy(() => weightQuantForward(wIn, meanAbs).y), gradFunc: (dy: Tensor) => dy };
  });
  return { y: ste(w), scale };
}

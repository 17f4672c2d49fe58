/**
 * Reference ALiBi bias, written plainly with tfjs ops: `bias[h, i, j] = −slope_h · |i + seqlenK − seqlenQ − j|`
 * (queries aligned to the end of the keys, so for causal attention this is `−slope·(t − s)`).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** The distance |query position − key position| `[seqlenQ, seqlenK]` with bottom-right alignment. */
export function alibiDistance(seqlenQ: number, seqlenK: number): Tensor {
  const d = new Float32Array(seqlenQ * seqlenK);
  for (let i = 0; i < seqlenQ; i++) for (let j = 0; j < seqlenK; j++) d[i * seqlenK + j] = Math.abs(i + seqlenK - seqlenQ - j);
  return tf.tensor(d, [seqlenQ, seqlenK]);
}

/** ALiBi bias `[nHeads, seqlenQ, seqlenK]` from slopes `[nHeads]`. */
export function alibiBiasReference(slopes: Tensor, seqlenQ: number, seqlenK: number): Tensor {
  return tf.tidy(() => tf.neg(tf.mul(tf.reshape(slopes, [-1, 1, 1]), alibiDistance(seqlenQ, seqlenK))));
}

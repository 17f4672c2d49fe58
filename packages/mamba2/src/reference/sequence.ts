/**
 * Packed-sequence masks for the references, in tfjs ops (so they run on any backend without
 * reading data back): where a new sequence starts (its id differs from the previous position's).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * 1 where position t continues the sequence of t − 1 (and at t = 0), 0 where a new one starts.
 * @param seqIdx - int32 `[batch, seqlen]`
 * @returns float32 `[batch, seqlen]`
 * @internal
 */
export function sequenceContinues(seqIdx: Tensor): Tensor {
  const [b, l] = seqIdx.shape as number[];
  const prev = tf.concat([tf.slice(seqIdx, [0, 0], [b, 1]), tf.slice(seqIdx, [0, 0], [b, l - 1])], 1);
  return tf.cast(tf.equal(seqIdx, prev), 'float32');
}

/**
 * 1 where no sequence starts in (t − lag, t], i.e. position t − lag (or, before position 0, the
 * initial state) belongs to the sequence of t.
 * @param keep - `[batch, seqlen]` from {@link sequenceContinues}
 * @returns float32 `[batch, seqlen]`
 * @internal
 */
export function noStartWithin(keep: Tensor, lag: number): Tensor {
  const [b, l] = keep.shape as number[];
  let ok: Tensor = tf.ones([b, l]);
  for (let m = 0; m < lag && m < l; m++) {
    const shifted = m === 0 ? keep : tf.concat([tf.ones([b, m]), tf.slice(keep, [0, 0], [b, l - m])], 1);
    ok = tf.mul(ok, shifted);
  }
  return ok;
}

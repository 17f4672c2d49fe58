/**
 * Reference of `causalConv1d` in tfjs ops: the initial state (or zeros) is put before x and
 * every tap is a shifted slice times one column of the kernel; differentiable by tfjs autodiff.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor3D } from '@falcon/tensor';
import type { CausalConv1dOptions, CausalConv1dResult } from '../causal_conv1d.js';
import { noStartWithin, sequenceContinues } from './sequence.js';
import { siluReference } from './ssd_recurrence.js';

/**
 * The causal depthwise convolution (same arguments and result as `causalConv1d`).
 * @param x - `[batch, seqlen, dim]`
 * @param weight - `[dim, dconv]`
 * @returns y `[batch, seqlen, dim]` and, when asked, finalState `[batch, dconv − 1, dim]`
 */
export function causalConv1dReference(x: Tensor, weight: Tensor, options: CausalConv1dOptions = {}): CausalConv1dResult {
  const [b, l, d] = x.shape;
  const k = weight.shape[1] as number;
  const xe = tf.concat([options.initialState ?? tf.zeros([b, k - 1, d]), x], 1);
  const keep = options.seqIdx && sequenceContinues(options.seqIdx);
  let y: Tensor = options.bias ? tf.reshape(options.bias, [1, 1, d]) : tf.zeros([1, 1, d]);
  const cols = tf.unstack(weight, 1);
  for (let j = 0; j < k; j++) {
    let term = tf.mul(tf.slice(xe, [0, j, 0], [b, l, d]), cols[j]);
    // tap j of position t reads position t − lag: valid when no sequence starts in (t − lag, t]
    if (keep) term = tf.mul(term, tf.expandDims(noStartWithin(keep, k - 1 - j), 2));
    y = tf.add(y, term);
  }
  if (options.silu) y = siluReference(y);
  const out: CausalConv1dResult = { y: y as Tensor3D };
  if (options.returnFinalState) out.finalState = tf.slice(xe, [0, l, 0], [b, k - 1, d]) as Tensor3D;
  return out;
}

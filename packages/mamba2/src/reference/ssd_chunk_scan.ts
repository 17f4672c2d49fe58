/**
 * Reference of `ssdChunkScan`: the plain sequential recurrence of the spec in tfjs ops,
 * differentiable by tfjs autodiff. This is the definition of correct for every SSD kernel.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor4D } from '@falcon/tensor';
import type { SsdChunkScanOptions, SsdChunkScanResult } from '../ssd_chunk_scan.js';
import { timeStepAttrs } from '../time_step.js';
import { expandGroups, recurrenceStep, siluReference } from './ssd_recurrence.js';
import { sequenceContinues } from './sequence.js';
import { timeStepReference } from './time_step.js';

/**
 * The SSD scan, one position at a time (same arguments and result as `ssdChunkScan`; chunkSize
 * is ignored). Where `seqIdx` changes between t − 1 and t, the state restarts from zero.
 *
 * @param x - `[batch, seqlen, nheads, headdim]`
 * @param dt - `[batch, seqlen, nheads]`
 * @param A - `[nheads]`
 * @param B - `[batch, seqlen, ngroups, dstate]`
 * @param C - `[batch, seqlen, ngroups, dstate]`
 * @returns y `[batch, seqlen, nheads, headdim]`, finalStates `[batch, nheads, headdim, dstate]` when asked
 */
export function ssdChunkScanReference(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, options: SsdChunkScanOptions = {}): SsdChunkScanResult {
  const [b, l, h, p] = x.shape as number[];
  const n = B.shape[3] as number;
  const delta = timeStepReference(dt, options.dtBias, timeStepAttrs('ssdChunkScanReference', options));
  let decay = tf.exp(tf.mul(delta, A));
  if (options.seqIdx) decay = tf.mul(decay, tf.expandDims(sequenceContinues(options.seqIdx), 2));
  const xs = tf.unstack(x, 1);
  const ds = tf.unstack(delta, 1);
  const decays = tf.unstack(decay, 1);
  const Bs = tf.unstack(expandGroups(B, h), 1);
  const Cs = tf.unstack(expandGroups(C, h), 1);
  let S: Tensor = options.initialStates ?? tf.zeros([b, h, p, n]);
  const ys: Tensor[] = [];
  for (let t = 0; t < l; t++) {
    const r = recurrenceStep(S, xs[t], ds[t], decays[t], Bs[t], Cs[t]);
    S = r.S;
    ys.push(r.y);
  }
  let y = tf.stack(ys, 1);
  if (options.D) y = tf.add(y, tf.mul(x, tf.reshape(options.D, [h, 1])));
  if (options.z) y = tf.mul(y, siluReference(options.z));
  return options.returnFinalStates ? { y: y as Tensor4D, finalStates: S as Tensor4D } : { y: y as Tensor4D };
}

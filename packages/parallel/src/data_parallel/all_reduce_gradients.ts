/**
 * Data-parallel gradient averaging in buckets. tfjs's `variableGrads` returns every gradient at
 * once, so a bucket cannot start while the backward pass is still running; instead every bucket's
 * all-reduce is started asynchronously, last parameters first, as soon as it is packed: the
 * collective of bucket k runs off the main thread (Gloo's worker, NCCL's stream) while bucket k+1
 * is packed, and unpacking bucket k overlaps the buckets still in flight.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { allReduce } from '../collectives/all_reduce.js';
import type { ProcessGroup } from '../process_group.js';
import { packBucket, unpackBucket } from './buckets.js';
import type { Bucket } from './buckets.js';

/**
 * Average gradients over the data-parallel group: every rank passes its local gradients and gets
 * the mean over the group's ranks (what one process would compute on the union of their batches,
 * when every rank's batch has the same number of tokens).
 * @param grads - this rank's gradients by parameter name (not disposed)
 * @param buckets - the layout from {@link planBuckets} (the same on every rank)
 * @param group - the data-parallel group (default the world)
 * @returns new tensors, the averaged gradients, by name in the order of `grads` (so that a sum over
 *   them, e.g. a global norm, adds in the order a single process would)
 * @throws a CollectiveError when a rank is missing or dies (within the group's timeout)
 */
export async function allReduceGradients(grads: Record<string, Tensor>, buckets: Bucket[], group?: ProcessGroup): Promise<Record<string, Tensor>> {
  const planned = new Set(buckets.flatMap((b) => b.entries.map((e) => e.name)));
  for (const name of planned) if (!grads[name]) throw new Error(`allReduceGradients: no gradient for '${name}'`);
  for (const name of Object.keys(grads)) if (!planned.has(name)) throw new Error(`allReduceGradients: '${name}' is in no bucket`);
  const inFlight: { bucket: Bucket; flat: Tensor; result: Promise<Tensor> }[] = [];
  const out: Record<string, Tensor> = {};
  let consumed = 0;
  try {
    for (const bucket of buckets) {
      const flat = packBucket(bucket, grads);
      inFlight.push({ bucket, flat, result: allReduce(flat, { op: 'avg', group }).wait() });
    }
    for (const w of inFlight) {
      const reduced = await w.result;
      consumed++;
      Object.assign(out, unpackBucket(w.bucket, reduced));
      reduced.dispose();
    }
    return Object.fromEntries(Object.keys(grads).map((k) => [k, out[k]]));
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  } finally {
    // a collective reads its input until it completes: let every started one finish before freeing
    const rest = await Promise.allSettled(inFlight.slice(consumed).map((w) => w.result));
    for (const r of rest) if (r.status === 'fulfilled') r.value.dispose();
    for (const w of inFlight) w.flat.dispose();
  }
}

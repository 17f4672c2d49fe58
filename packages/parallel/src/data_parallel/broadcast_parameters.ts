/**
 * Make every data-parallel replica start from the same weights: rank `src`'s parameters are
 * broadcast in buckets and assigned on every other rank (what torch DDP does at construction).
 */
import type { Tensor, Variable } from '@falcon/tensor';
import { broadcast } from '../collectives/broadcast.js';
import type { ProcessGroup } from '../process_group.js';
import { packBucket, planBuckets, unpackBucket } from './buckets.js';

/**
 * Broadcast the parameters from `src` and assign them in place on the other ranks.
 * @param params - the model's variables by name (same names and shapes on every rank)
 * @param options - the group (default the world), the source rank (default 0), the bucket size (default 25 MiB)
 * @throws a CollectiveError when a rank is missing, or an error when shapes differ between ranks
 */
export async function broadcastParameters(params: Record<string, Variable>, options: { group?: ProcessGroup; src?: number; bucketBytes?: number } = {}): Promise<void> {
  const shapes = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
  const buckets = planBuckets(shapes, options.bucketBytes ?? 25 * 2 ** 20);
  const inFlight: { flat: Tensor; result: Promise<Tensor> }[] = [];
  try {
    for (const bucket of buckets) {
      const flat = packBucket(bucket, params);
      inFlight.push({ flat, result: broadcast(flat, { src: options.src ?? 0, group: options.group }).wait() });
    }
    for (let i = 0; i < buckets.length; i++) {
      const got = await inFlight[i].result;
      const parts = unpackBucket(buckets[i], got);
      got.dispose();
      for (const [k, t] of Object.entries(parts)) {
        params[k].assign(t);
        t.dispose();
      }
    }
  } finally {
    await Promise.allSettled(inFlight.map((w) => w.result));
    for (const w of inFlight) w.flat.dispose();
  }
}

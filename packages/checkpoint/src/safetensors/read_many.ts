/**
 * Reading many tensors with a few reads in flight at once (positioned reads of different tensors
 * overlap in the thread pool), keeping the caller's order; on failure every tensor already read is
 * disposed before the error is thrown.
 */
import type { Tensor } from '@falcon/tensor';

/** Options of `readTensors`. */
export interface ReadManyOptions {
  /** How many tensors are read at once (default 4). */
  concurrency?: number;
}

/**
 * Read `names` with `read`, up to `concurrency` at a time, into a Map in the order of `names`. @internal
 * @param names - tensor names
 * @param read - reads one tensor
 */
export async function readMany(names: readonly string[], read: (name: string) => Promise<Tensor>, options: ReadManyOptions = {}): Promise<Map<string, Tensor>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const results: (Tensor | undefined)[] = new Array(names.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < names.length) {
      const i = next++;
      try {
        results[i] = await read(names[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  const error = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (error) {
    for (const t of results) t?.dispose();
    throw error.reason;
  }
  return new Map(names.map((n, i) => [n, results[i]!]));
}

/**
 * Small JSON messages between the ranks of a distributed checkpoint save (directory names, each
 * rank's file digest and specs, errors), as an all-gather of their UTF-8 bytes. Also a barrier:
 * it completes on a rank only when every rank has sent its message.
 */
import { allGather } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';

/**
 * Every rank's `value`, by group rank (each rank must call it).
 * @param value - anything JSON can carry
 * @param group - the group (a world of one without it: returns `[value]`)
 */
export async function allGatherJson<T>(value: T, group: ProcessGroup | undefined): Promise<T[]> {
  if (!group || group.size === 1) return [JSON.parse(JSON.stringify(value)) as T];
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const lengths = await gatherInts(Int32Array.of(bytes.byteLength), group);
  const words = Math.ceil(Math.max(...lengths) / 4);
  const padded = new Uint8Array(words * 4);
  padded.set(bytes);
  const all = await gatherInts(new Int32Array(padded.buffer), group);
  const out = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  return Array.from(lengths, (n, r) => JSON.parse(new TextDecoder().decode(out.subarray(r * words * 4, r * words * 4 + n))) as T);
}

async function gatherInts(x: Int32Array, group: ProcessGroup): Promise<Int32Array> {
  const t = tf.tensor1d(x, 'int32');
  try {
    const g = await allGather(t, { group }).wait();
    const data = (await g.data()) as Int32Array;
    g.dispose();
    return data;
  } finally {
    t.dispose();
  }
}

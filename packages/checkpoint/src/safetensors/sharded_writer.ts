/**
 * Writing a checkpoint as shards of at most `maxShardBytes` plus `model.safetensors.index.json`,
 * named as transformers names them (`model-00001-of-00003.safetensors`), or as one
 * `model.safetensors` when everything fits in one shard (as transformers does). Every shard is
 * written to a temporary file first; only when all are complete are they renamed into place, then
 * the index. A failure removes the temporary files and leaves the directory as it was.
 */
import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsError } from '../errors.js';
import { INDEX_SUFFIX, encodeIndex, shardFileName } from './index_file.js';
import { planTensors } from './plan.js';
import type { PlannedTensor, TensorsToWrite, WriteOptions } from './plan.js';
import { commitTemp, tempPathFor, writeTemp } from './writer.js';

/** Options of {@link writeShardedSafetensors}. */
export interface ShardedWriteOptions extends WriteOptions {
  /**
   * Largest shard in bytes of tensor data (default 5·10⁹, transformers' "5GB"). Tensors are taken in
   * the order given and a new shard starts when the next one would not fit; a tensor larger than
   * this gets a shard of its own.
   */
  maxShardBytes?: number;
  /** File stem (default `model`): shards `model-0000i-of-0000n.safetensors`, index `model.safetensors.index.json`. */
  prefix?: string;
  /** Each shard's `__metadata__` (default `{ format: 'pt' }`, which transformers expects). */
  metadata?: Readonly<Record<string, string>>;
  /** Extra entries for the index's `metadata` object, next to `total_size`. */
  indexMetadata?: Readonly<Record<string, unknown>>;
  /**
   * Remove files of an earlier save in the directory that this one does not replace: other
   * `<prefix>-NNNNN-of-NNNNN.safetensors` shards, and the index when writing one file or
   * `<prefix>.safetensors` when writing shards (default true).
   */
  removeStale?: boolean;
}

/** What {@link writeShardedSafetensors} wrote. */
export interface ShardedWriteResult {
  /** Paths of the `.safetensors` files written, in shard order. */
  files: string[];
  /** Path of the index file, or undefined when a single `<prefix>.safetensors` was written. */
  indexPath: string | undefined;
  /** Bytes of tensor data in all shards (the index's `total_size`). */
  totalSize: number;
  /** Tensor name → shard file name. */
  weightMap: Map<string, string>;
}

function groupShards(planned: readonly PlannedTensor[], max: number): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let size = 0;
  for (const t of planned) {
    if (current.length > 0 && size + t.byteLength > max) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.byteLength;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/**
 * Write a checkpoint directory: shards of at most `maxShardBytes` and the index, or one file.
 * Streams one tensor at a time like {@link writeSafetensors}.
 * @param dir - directory to write into (created if missing)
 * @param tensors - name → tensor entries
 * @throws SafetensorsError naming the shard, the tensor and the problem; nothing is left half-written
 */
export async function writeShardedSafetensors(dir: string, tensors: TensorsToWrite, options: ShardedWriteOptions = {}): Promise<ShardedWriteResult> {
  const { maxShardBytes = 5e9, prefix = 'model', removeStale = true } = options;
  if (!(maxShardBytes > 0)) throw new SafetensorsError(`maxShardBytes must be positive, got ${maxShardBytes}`, { file: dir });
  if (prefix === '' || prefix.includes('/') || prefix.includes('\\')) throw new SafetensorsError(`prefix ${JSON.stringify(prefix)} is not a plain file stem`, { file: dir });
  const writeOptions: WriteOptions = { ...options, metadata: options.metadata ?? { format: 'pt' } };
  await mkdir(dir, { recursive: true });
  const planned = planTensors(tensors, writeOptions, dir);
  const groups = groupShards(planned, maxShardBytes);
  const names = groups.length === 1 ? [`${prefix}.safetensors`] : groups.map((_, i) => shardFileName(prefix, i + 1, groups.length));
  const weightMap = new Map<string, string>();
  groups.forEach((g, i) => g.forEach((t) => weightMap.set(t.name, names[i])));
  const totalSize = planned.reduce((s, t) => s + t.byteLength, 0);

  const temps: string[] = [];
  try {
    for (let i = 0; i < groups.length; i++) temps.push(await writeTemp(join(dir, names[i]), groups[i], writeOptions));
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw e;
  }
  for (let i = 0; i < temps.length; i++) {
    try {
      await commitTemp(temps[i], join(dir, names[i]));
    } catch (e) {
      await Promise.all(temps.slice(i + 1).map((t) => unlink(t).catch(() => undefined)));
      throw e;
    }
  }
  let indexPath: string | undefined;
  if (groups.length > 1) {
    indexPath = join(dir, `${prefix}${INDEX_SUFFIX}`);
    const temp = tempPathFor(indexPath);
    try {
      await writeFile(temp, encodeIndex({ ...options.indexMetadata, total_size: totalSize }, weightMap), { flag: 'wx' });
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw new SafetensorsError(`could not write the index: ${(e as Error).message}`, { file: indexPath }, { cause: e });
    }
    await commitTemp(temp, indexPath);
  }
  if (removeStale) {
    const shardPattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{5}-of-\\d{5}\\.safetensors$`);
    const keep = new Set(names);
    const stale = (await readdir(dir)).filter(
      (f) =>
        !keep.has(f) &&
        (shardPattern.test(f) || (groups.length === 1 && f === `${prefix}${INDEX_SUFFIX}`) || (groups.length > 1 && f === `${prefix}.safetensors`)),
    );
    await Promise.all(stale.map((f) => unlink(join(dir, f)).catch(() => undefined)));
  }
  return { files: names.map((n) => join(dir, n)), indexPath, totalSize, weightMap };
}

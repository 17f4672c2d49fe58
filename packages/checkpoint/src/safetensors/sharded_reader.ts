/**
 * Reading a checkpoint that is one safetensors file or several shards with a
 * `model.safetensors.index.json` (Node). Every shard's header is validated on open, and every
 * tensor the index lists must be in the shard it names; tensors are then read on demand.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@falcon/tensor';
import { SafetensorsError } from '../errors.js';
import type { RawTensorBytes } from './convert.js';
import type { SafetensorsTypedArray } from './dtypes.js';
import type { SafetensorsTensorInfo } from './header.js';
import { INDEX_SUFFIX, parseIndex } from './index_file.js';
import { SafetensorsReader, isFile } from './reader.js';
import { readMany } from './read_many.js';
import type { ReadManyOptions } from './read_many.js';
import type { ReadOptions } from './rows.js';

/** A checkpoint opened by {@link openCheckpoint}: one file or a sharded set, read as one. */
export class CheckpointReader {
  /** The index file's path (sharded) or the single `.safetensors` file's path. */
  readonly path: string;
  /** Whether the checkpoint is sharded (has an index). */
  readonly sharded: boolean;
  /**
   * The index's `metadata` object (sharded: e.g. `{ total_size }`), or the file's `__metadata__`
   * (single file).
   */
  readonly metadata: Readonly<Record<string, unknown>>;
  private readonly shards: Map<string, SafetensorsReader>;
  private readonly where: Map<string, SafetensorsReader>;

  /** @internal Use {@link openCheckpoint}. */
  constructor(path: string, sharded: boolean, metadata: Readonly<Record<string, unknown>>, shards: Map<string, SafetensorsReader>, where: Map<string, SafetensorsReader>) {
    this.path = path;
    this.sharded = sharded;
    this.metadata = metadata;
    this.shards = shards;
    this.where = where;
  }

  /** Paths of the `.safetensors` files, in shard order. */
  get files(): string[] {
    return [...this.shards.values()].map((r) => r.path);
  }

  /** Tensor names: the index's order (sharded) or the file's data order. */
  get names(): string[] {
    return [...this.where.keys()];
  }

  /** Whether the checkpoint holds a tensor of this name. @param name - tensor name */
  has(name: string): boolean {
    return this.where.has(name);
  }

  private reader(name: string): SafetensorsReader {
    const r = this.where.get(name);
    if (!r) throw new SafetensorsError('no tensor of this name in the checkpoint', { file: this.path, tensor: name });
    return r;
  }

  /** The header entry (dtype, shape, offsets within its shard) of a tensor. @param name - tensor name */
  info(name: string): SafetensorsTensorInfo {
    return this.reader(name).info(name);
  }

  /** Every tensor's shape by name (what {@link validateCheckpoint} takes). */
  shapes(): Map<string, readonly number[]> {
    return new Map(this.names.map((n) => [n, this.info(n).shape]));
  }

  /** The stored bytes of a tensor, unconverted. @param name - tensor name @param options - `rows` of dim 0 */
  readRaw(name: string, options: ReadOptions = {}): Promise<RawTensorBytes> {
    return this.reader(name).readRaw(name, options);
  }

  /** A tensor's elements as its dtype's typed array. @param name - tensor name @param options - `rows` of dim 0 */
  readTypedArray(name: string, options: ReadOptions = {}): Promise<SafetensorsTypedArray> {
    return this.reader(name).readTypedArray(name, options);
  }

  /** A tensor as a tfjs tensor (float32, int32 or bool). @param name - tensor name @param options - `rows` of dim 0 */
  readTensor(name: string, options: ReadOptions = {}): Promise<Tensor> {
    return this.reader(name).readTensor(name, options);
  }

  /**
   * Several tensors (default: all) as tfjs tensors, a few reads in flight at once; the Map keeps the
   * order of `names`. If one read fails, the tensors already read are disposed.
   * @param names - which tensors; default all
   * @param options - `concurrency`: reads in flight (default 4)
   */
  readTensors(names: readonly string[] = this.names, options: ReadManyOptions = {}): Promise<Map<string, Tensor>> {
    return readMany(names, (n) => this.readTensor(n), options);
  }

  /** Close every file. */
  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((r) => r.close()));
  }
}

async function openSharded(indexPath: string): Promise<CheckpointReader> {
  let text: string;
  try {
    text = await readFile(indexPath, 'utf8');
  } catch (e) {
    throw new SafetensorsError(`cannot read the index: ${(e as Error).message}`, { file: indexPath }, { cause: e });
  }
  const index = parseIndex(text, indexPath);
  const dir = dirname(indexPath);
  const shards = new Map<string, SafetensorsReader>();
  const where = new Map<string, SafetensorsReader>();
  try {
    for (const shard of [...new Set(index.weightMap.values())].sort()) {
      shards.set(shard, await SafetensorsReader.open(join(dir, shard)));
    }
    for (const [name, shard] of index.weightMap) {
      const r = shards.get(shard)!;
      if (!r.has(name)) throw new SafetensorsError(`the index puts this tensor in '${shard}', which does not hold it`, { file: indexPath, tensor: name });
      where.set(name, r);
    }
  } catch (e) {
    await Promise.all([...shards.values()].map((r) => r.close()));
    throw e;
  }
  return new CheckpointReader(indexPath, true, index.metadata, shards, where);
}

/**
 * Open a checkpoint: a directory (its `model.safetensors.index.json`, else `model.safetensors`, else
 * its only `*.safetensors.index.json` or `*.safetensors`), an index file, or a `.safetensors` file.
 * @param path - directory or file
 * @throws SafetensorsError if nothing is found, a shard is missing or malformed, or the index names a tensor its shard lacks
 */
export async function openCheckpoint(path: string): Promise<CheckpointReader> {
  let file = path;
  if (!(await isFile(path))) {
    let listing: string[];
    try {
      listing = await readdir(path);
    } catch (e) {
      throw new SafetensorsError(`is neither a file nor a readable directory: ${(e as Error).message}`, { file: path }, { cause: e });
    }
    const indexes = listing.filter((f) => f.endsWith(INDEX_SUFFIX));
    const singles = listing.filter((f) => f.endsWith('.safetensors'));
    const pick = listing.includes(`model${INDEX_SUFFIX}`)
      ? `model${INDEX_SUFFIX}`
      : listing.includes('model.safetensors')
        ? 'model.safetensors'
        : indexes.length === 1
          ? indexes[0]
          : indexes.length === 0 && singles.length === 1
            ? singles[0]
            : undefined;
    if (pick === undefined) {
      throw new SafetensorsError(
        `has no model${INDEX_SUFFIX} or model.safetensors (and not exactly one other index or .safetensors file to use instead)`,
        { file: path },
      );
    }
    file = join(path, pick);
  }
  if (basename(file).endsWith(INDEX_SUFFIX)) return openSharded(file);
  const r = await SafetensorsReader.open(file);
  return new CheckpointReader(file, false, r.metadata, new Map([[basename(file), r]]), new Map(r.names.map((n) => [n, r])));
}

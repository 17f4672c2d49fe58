/**
 * The index of a sharded checkpoint, `model.safetensors.index.json`, as transformers writes it:
 * `{"metadata": {"total_size": <bytes>, ...}, "weight_map": {"<tensor>": "model-00001-of-00003.safetensors", ...}}`,
 * and the shard file names. No Node APIs.
 */
import { SafetensorsError } from '../errors.js';

/** Suffix of an index file: `<prefix>.safetensors.index.json`. */
export const INDEX_SUFFIX = '.safetensors.index.json';

/** A parsed index file. */
export interface SafetensorsIndex {
  /** The `metadata` object (transformers stores `total_size`, the bytes of all tensors); `{}` if absent. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name (relative to the index's directory). */
  readonly weightMap: ReadonlyMap<string, string>;
}

/**
 * The name of shard `index` (1-based) of `count`, as transformers names them:
 * `model-00001-of-00003.safetensors`.
 * @param prefix - file stem, `model` by default in transformers
 */
export function shardFileName(prefix: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(index)}-of-${pad(count)}.safetensors`;
}

/**
 * Parse and validate an index file's JSON: an object with a `weight_map` of tensor name → shard
 * file name (a plain file name in the same directory) and an optional `metadata` object.
 * @param text - the file's contents
 * @param file - its path, for error messages
 */
export function parseIndex(text: string, file?: string): SafetensorsIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`index is not valid JSON (${(e as Error).message})`, { file }, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SafetensorsError('index is not a JSON object', { file });
  const { metadata = {}, weight_map: map } = parsed as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new SafetensorsError('index "metadata" is not an object', { file });
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new SafetensorsError('index has no "weight_map" object', { file });
  const weightMap = new Map<string, string>();
  for (const name of Object.keys(map)) {
    const shard = (map as Record<string, unknown>)[name];
    if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..') {
      throw new SafetensorsError(`weight_map entry ${JSON.stringify(shard)} is not a file name in the index's directory`, { file, tensor: name });
    }
    weightMap.set(name, shard);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

/**
 * The JSON of an index file, as transformers writes it (keys sorted, 2-space indent, final newline).
 * @param metadata - the `metadata` object (e.g. `{ total_size }`)
 * @param weightMap - tensor name → shard file name
 */
export function encodeIndex(metadata: Readonly<Record<string, unknown>>, weightMap: ReadonlyMap<string, string>): string {
  const sortKeys = (o: Readonly<Record<string, unknown>>) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  const names = [...weightMap.keys()].sort();
  return JSON.stringify({ metadata: sortKeys(metadata), weight_map: Object.fromEntries(names.map((n) => [n, weightMap.get(n)])) }, null, 2) + '\n';
}

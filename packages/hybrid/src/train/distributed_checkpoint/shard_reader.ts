/**
 * Assembling a target rank's tensors from a distributed checkpoint's rank files: for each tensor,
 * `planReshard` says which boxes of which ranks' shards make the target's; each source is
 * read once, only the rows (along its first dimension, contiguous on disk) that its boxes span;
 * packed ternary shards are read whole, decoded, copied and re-packed. Every file is checked
 * against the manifest's SHA-256 before its first read.
 */
import { join } from 'node:path';
import { bytesToTypedArray, openSafetensors } from '@falcon/checkpoint';
import type { SafetensorsDtype, SafetensorsReader } from '@falcon/checkpoint';
import { copyBox, localShape, planReshard } from '@falcon/parallel';
import type { ShardSpec } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { digest } from '../durable.js';
import type { DistributedCheckpoint } from './manifest.js';
import { decodeTernary, encodeTernary } from './ternary.js';

/** How a rank file is checked before it is read: its SHA-256 (default), or only its size (already checked on open). */
export type VerifyMode = 'sha256' | 'size';

/** Options of {@link ShardReader}. */
export interface ShardReaderOptions {
  /** Read pieces several ranks saved from this rank's file first (e.g. the loading rank's own). */
  prefer?: number;
  /** How files are checked before reading (default `'sha256'`). */
  verify?: VerifyMode;
}

/** A target's local values: row-major, of `localShape`(target). */
export interface AssembledValues {
  /** The values (float32 for floats and ternary values, int32 for integers). */
  values: Float32Array | Int32Array;
  /** `localShape`(target). */
  shape: number[];
}

/** Reads target shards from one distributed checkpoint; {@link ShardReader.close} when done. */
export class ShardReader {
  private readonly readers = new Map<number, Promise<SafetensorsReader>>();

  /**
   * @param checkpoint - from {@link readDistributedCheckpoint}
   * @param options - preferred source rank, verification
   */
  constructor(
    readonly checkpoint: DistributedCheckpoint,
    private readonly options: ShardReaderOptions = {},
  ) {}

  private reader(rank: number): Promise<SafetensorsReader> {
    let r = this.readers.get(rank);
    if (!r) {
      r = (async () => {
        const entry = this.checkpoint.manifest.ranks[rank];
        const path = join(this.checkpoint.dir, entry.file!);
        if ((this.options.verify ?? 'sha256') === 'sha256') {
          const got = await digest(path);
          if (got.sha256 !== entry.digest?.sha256 || got.bytes !== entry.digest?.bytes) {
            throw new Error(`${path} is damaged: ${got.bytes} bytes with SHA-256 ${got.sha256.slice(0, 12)}…, the manifest says ${entry.digest?.bytes} bytes, ${entry.digest?.sha256.slice(0, 12)}…`);
          }
        }
        return openSafetensors(path);
      })();
      this.readers.set(rank, r);
    }
    return r;
  }

  /**
   * The target's local values of a tensor.
   * @param name - a parameter (Hugging Face name) or an optimizer slot (`m.<name>`)
   * @param target - the target's spec (its full shape must be the saved one)
   * @throws when the checkpoint has no such tensor, a shape differs, or a file is damaged
   */
  async values(name: string, target: ShardSpec): Promise<AssembledValues> {
    const { manifest, dir } = this.checkpoint;
    const saved = this.checkpoint.tensors.get(name);
    if (!saved) throw new Error(`${dir} has no tensor '${name}'`);
    if (!tf.util.arraysEqual(saved.shape, target.shape)) throw new Error(`${name}: the checkpoint in ${dir} holds it with shape [${saved.shape}], the target expects [${target.shape}] (another model config?)`);
    const sources = manifest.ranks.flatMap((r) => (r.tensors[name] ? [{ source: r.rank, spec: r.tensors[name].spec }] : []));
    const pieces = planReshard(name, target, sources, { prefer: this.options.prefer });
    const shape = localShape(target);
    const ints = manifest.ranks.some((r) => r.tensors[name]?.dtype === 'I32');
    const out = ints ? new Int32Array(tf.util.sizeFromShape(shape)) : new Float32Array(tf.util.sizeFromShape(shape));
    for (const source of new Set(pieces.map((p) => p.source))) {
      const mine = pieces.filter((p) => p.source === source);
      const stored = manifest.ranks[source].tensors[name];
      const spec = stored.spec;
      const reader = await this.reader(source);
      const info = reader.info(name);
      const local = localShape(spec);
      const packed = spec.encoding === 'ternary2';
      const want = packed ? [Math.ceil(local[0] / 4), local[1]] : local;
      if (info.dtype !== stored.dtype || !tf.util.arraysEqual([...info.shape], want)) throw new Error(`${reader.path}: '${name}' is ${info.dtype} [${info.shape}], the manifest says ${stored.dtype} [${want}]`);
      let block: ArrayLike<number>;
      let blockShape = local;
      let r0 = 0;
      if (packed) block = decodeTernary((await reader.readRaw(name)).data, spec);
      else {
        if (!['F32', 'I32'].includes(info.dtype)) throw new Error(`${reader.path}: '${name}' is stored as ${info.dtype}; rank files hold F32, I32 or packed U8`);
        if (local.length > 0) {
          // only the rows the boxes span (rows are contiguous in the file)
          r0 = Math.min(...mine.map((p) => p.from[0]));
          const r1 = Math.max(...mine.map((p) => p.from[0] + p.size[0]));
          blockShape = [r1 - r0, ...local.slice(1)];
          block = bytesToTypedArray(info.dtype as SafetensorsDtype, (await reader.readRaw(name, { rows: [r0, r1] })).data) as Float32Array | Int32Array;
        } else block = bytesToTypedArray(info.dtype as SafetensorsDtype, (await reader.readRaw(name)).data) as Float32Array | Int32Array;
      }
      for (const p of mine) copyBox(block, blockShape, out, shape, { ...p, from: p.from.map((v, i) => (i === 0 ? v - r0 : v)) });
    }
    return { values: out, shape };
  }

  /**
   * The target's local tensor of a tensor: float32 or int32 of `localShape`(target); for a
   * `ternary2` target the packed int32 words of `packedWeightTensor`.
   * @param name - a parameter or an optimizer slot (`m.<name>`)
   * @param target - the target's spec
   */
  async tensor(name: string, target: ShardSpec): Promise<Tensor> {
    const { values, shape } = await this.values(name, target);
    if (target.encoding === 'ternary2') return encodeTernary(values, target);
    return tf.tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32');
  }

  /** Close the files. */
  async close(): Promise<void> {
    const all = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(all.map((r) => r.then((x) => x.close()).catch(() => undefined)));
  }
}

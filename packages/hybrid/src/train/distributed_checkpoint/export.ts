/**
 * Exporting a distributed checkpoint as one Hugging Face checkpoint: `config.json` and
 * `model.safetensors` (sharded with an index past 5 GB) under transformers' names, each full tensor
 * assembled from the rank files in turn (one tensor in memory at a time), in float32 or bfloat16;
 * packed ternary weights stay packed (U8, transformers' BitNet layout). What `falcon export` runs.
 */
import { rename, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateCheckpoint, writeShardedSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { packTernary } from '@falcon/bitnet';
import { replicated } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import { hybridConfig, isUniform } from '../../config.js';
import { readDistributedCheckpoint } from './manifest.js';
import type { DistributedManifest } from './manifest.js';
import { ShardReader } from './shard_reader.js';
import type { VerifyMode } from './shard_reader.js';

/** Options of {@link exportHuggingFace}. */
export interface ExportOptions {
  /** Stored dtype of the float weights (default float32). */
  dtype?: 'float32' | 'bfloat16';
  /** Shard `model.safetensors` past this many bytes (default 5·10⁹). */
  maxShardBytes?: number;
  /** How rank files are checked before reading (default `'sha256'`). */
  verify?: VerifyMode;
  /** Called after each tensor is assembled, with the count done and the total (progress). */
  onTensor?: (done: number, total: number, name: string) => void;
}

/** What {@link exportHuggingFace} wrote. */
export interface ExportSummary {
  /** The checkpoint read. */
  from: string;
  /** The output directory. */
  out: string;
  /** Its step. */
  step: number;
  /** The layout that saved it. */
  sizes: DistributedManifest['sizes'];
  /** Tensors written. */
  tensors: number;
  /** Stored dtype of the float weights. */
  dtype: 'float32' | 'bfloat16';
  /** The safetensors files written. */
  files: string[];
}

/**
 * Write a distributed checkpoint (saved under any layout) as one Hugging Face checkpoint.
 * @param from - a training run directory (its latest commit) or a checkpoint directory
 * @param out - the output directory (created; `config.json` is written last)
 * @throws when the checkpoint is incomplete or damaged, or its tensors do not match its config
 */
export async function exportHuggingFace(from: string, out: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const ckpt = await readDistributedCheckpoint(from);
  const { manifest: m } = ckpt;
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'bfloat16') throw new Error(`export: dtype must be float32 or bfloat16, got '${String(dtype)}'`);
  const config = hybridConfig(m.config, { source: join(ckpt.dir, 'layout.json') });
  const shapes = new Map(m.params.map((p) => [p, ckpt.tensors.get(p)!.shape]));
  if (isUniform(config)) validateCheckpoint(config.base, shapes, { what: `checkpoint in ${ckpt.dir}` });
  const reader = new ShardReader(ckpt, { verify: options.verify });
  let done = 0;
  const entries: Record<string, LazyTensor> = {};
  for (const name of m.params) {
    const { shape, encoding } = ckpt.tensors.get(name)!;
    const packed = encoding === 'ternary2';
    entries[name] = {
      dtype: packed ? 'U8' : dtype === 'bfloat16' ? 'BF16' : 'F32',
      shape: packed ? [Math.ceil(shape[0] / 4), shape[1]] : shape,
      load: async () => {
        const { values } = await reader.values(name, replicated(shape));
        options.onTensor?.(++done, m.params.length, name);
        if (packed) return packTernary(values, shape[0], shape[1]);
        return tf.tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32');
      },
    };
  }
  await mkdir(out, { recursive: true });
  let files: string[];
  try {
    const r = await writeShardedSafetensors(out, entries, { maxShardBytes: options.maxShardBytes, metadata: { format: 'pt' } });
    files = r.files;
  } finally {
    await reader.close();
  }
  const tmp = join(out, `.config.json.tmp-${process.pid}`);
  await writeFile(tmp, m.config);
  await rename(tmp, join(out, 'config.json'));
  return { from: ckpt.dir, out, step: m.step, sizes: m.sizes, tensors: m.params.length, dtype, files };
}

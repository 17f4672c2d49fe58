/**
 * A model directory with random weights for a config (benchmarks and loading checks at real sizes
 * without downloading a checkpoint): `config.json` as given and `model.safetensors` in BF16 (or
 * F32), every tensor generated on the host straight into its stored dtype, one tensor at a time, so
 * the process holds one tensor's bytes, never the model in float32.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedTensorShapes, writeShardedSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { Rng } from '@falcon/tensor';
import { hybridConfig } from './config.js';

/** Options of {@link writeRandomPretrained}. */
export interface RandomPretrainedOptions {
  /** Stored dtype (default BF16). With F32 the values are the BF16 ones widened (exact), so both load to the same model. */
  dtype?: 'BF16' | 'F32';
  /** Seed (default 0). */
  seed?: number;
}

/** The float32 bits of the bfloat16 nearest `x` (round to nearest even), as bf16 bits. */
function bf16Bits(x: number, f32: Float32Array, u32: Uint32Array): number {
  f32[0] = x;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** How a tensor starts (transformers' initialisation): norms and D at 1, A_log = log(1 … n), biases and dt_bias at 0, the rest normal(0, std). */
function initialValue(name: string, i: number, std: number, rng: Rng): number {
  if (/norm\.weight$|\.D$/.test(name)) return 1;
  if (name.endsWith('.A_log')) return Math.log(i + 1);
  if (/bias$/.test(name)) return 0;
  return rng.normal() * std;
}

/**
 * Write `config.json` and a random `model.safetensors` for a Falcon-H1 config into `dir`.
 * @param dir - target directory (created)
 * @param config - the transformers `config.json` object (written as given)
 * @returns the weights' bytes on disk (tensor data only)
 */
export async function writeRandomPretrained(dir: string, config: Record<string, unknown>, options: RandomPretrainedOptions = {}): Promise<number> {
  const dtype = options.dtype ?? 'BF16';
  const base = hybridConfig(config).base; // validates the config first
  const std = base.initializer_range ?? 0.02;
  const rng = new Rng(options.seed ?? 0);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let bytes = 0;
  const shapes = expectedTensorShapes(base);
  const entries: Record<string, LazyTensor> = {};
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    bytes += n * (dtype === 'BF16' ? 2 : 4);
    entries[name] = {
      dtype,
      shape,
      load: () => {
        const bits = new Uint16Array(n);
        for (let i = 0; i < n; i++) bits[i] = bf16Bits(initialValue(name, i, std, rng), f32, u32);
        if (dtype === 'BF16') return bits;
        const wide = new Uint32Array(n);
        for (let i = 0; i < n; i++) wide[i] = bits[i] << 16;
        return new Float32Array(wide.buffer);
      },
    };
  }
  await mkdir(dir, { recursive: true });
  await writeShardedSafetensors(dir, entries, { maxShardBytes: Number.MAX_SAFE_INTEGER, metadata: { format: 'pt' } });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return bytes;
}

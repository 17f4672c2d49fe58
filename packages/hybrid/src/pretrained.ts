/**
 * Hugging Face layout on disk: `config.json` plus `model.safetensors` (or sharded with
 * `model.safetensors.index.json`). Loading checks every tensor against the config before assigning
 * anything; saving writes what transformers' `FalconH1ForCausalLM.from_pretrained` loads.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configToJson, openCheckpoint, validateCheckpoint, writeShardedSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { PackedBitLinear } from '@falcon/bitnet';
import type { RawTensorData } from '@falcon/bitnet';
import type { BitNetLayers, HybridConfig, LayerHeads } from './config.js';
import { EXTRA_FIELDS, hybridConfig, isUniform } from './config.js';
import type { CausalLm } from './causal_lm.js';
import { resolveModelDir } from './train/latest.js';

/** Stored dtypes a weight may have (read as float32). */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Options of {@link loadPretrained}. */
export interface FromPretrainedOptions {
  /** Replace the per-layer head counts of the file's config (weights of heads a layer no longer has are dropped). */
  layers?: LayerHeads[];
  /** Turn BitNet layers on or off. */
  bitnet?: Partial<BitNetLayers>;
  /**
   * `FalconH1ForCausalLM.fromPretrained` only: pack the BitNet linears for inference once loaded
   * (`packTernary()`; a packed checkpoint is read packed anyway). Default false.
   */
  packTernary?: boolean;
}

/**
 * Read `config.json` and the weights of `dir` into a model made by `create` (`loadPretrained` and
 * `FalconH1ForCausalLM.fromPretrained` pass the model's constructor). For a training run directory
 * (one with `latest.json`), its latest committed checkpoint is read.
 * @throws when the config is invalid or a tensor is missing, unexpected or misshapen (all listed)
 * @internal
 */
export async function readPretrained<M extends CausalLm>(dir: string, options: FromPretrainedOptions, create: (config: HybridConfig) => M): Promise<M> {
  dir = await resolveModelDir(dir); // a training run: its latest committed checkpoint
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${join(dir, 'config.json')}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const config = hybridConfig(text, { layers: options.layers, bitnet: options.bitnet, source: join(dir, 'config.json') });
  const reader = await openCheckpoint(dir);
  try {
    // a packed BitNet checkpoint (transformers' packed BitLinear): `….weight` U8 with its `….weight_scale`
    const packedNames = new Set(reader.names.filter((n) => n.endsWith('.weight_scale')).map((n) => n.slice(0, -'_scale'.length)));
    if (isUniform(config) && packedNames.size === 0) validateCheckpoint(config.base, reader.shapes(), { what: `checkpoint in ${dir}` });
    for (const name of reader.names) {
      const { dtype } = reader.info(name);
      if (packedNames.has(name) ? dtype !== 'U8' : !FLOAT_DTYPES.has(dtype)) {
        const want = packedNames.has(name) ? 'it must be U8 (a packed ternary weight, as it has a weight_scale)' : `the model's weights are floats (${[...FLOAT_DTYPES].join(', ')})`;
        throw new Error(`checkpoint in ${dir}: tensor '${name}' is stored as ${dtype}, but ${want}`);
      }
    }
    const model = create(config);
    if (packedNames.size && !model.loadPackedStateDict) throw new Error(`checkpoint in ${dir} holds packed ternary weights, which this model cannot load`);
    const tensors = await reader.readTensors();
    const expected = model.stateDictShapes();
    // With per-layer head counts given here, weights of heads the layers no longer have are dropped.
    const keep = (k: string) => !(config.base.tie_word_embeddings && k === 'lm_head.weight') && (!options.layers || expected.has(k.replace(/_scale$/, '')));
    const weights: Record<string, Tensor> = Object.fromEntries([...tensors].filter(([k]) => keep(k) && !packedNames.has(k) && !packedNames.has(k.replace(/_scale$/, ''))));
    const packed: Record<string, PackedBitLinear> = {};
    try {
      for (const name of packedNames) {
        if (!keep(name)) continue;
        const where = `checkpoint in ${dir}: packed '${name}'`;
        const outFeatures = expected.get(name)?.[0];
        if (outFeatures === undefined) throw new Error(`${where} is not a weight of this config`);
        packed[name] = await PackedBitLinear.fromTensors({ weight: tensors.get(name)!, weight_scale: tensors.get(`${name}_scale`)! }, { outFeatures }).catch((e: Error) => {
          throw new Error(`${where}: ${e.message}`);
        });
      }
      if (packedNames.size) model.loadPackedStateDict!(weights, packed);
      else model.loadStateDict(weights);
    } catch (e) {
      for (const p of Object.values(packed)) p.dispose();
      throw e;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    return model;
  } finally {
    await reader.close();
  }
}

/** The config.json text of a model (transformers' fields, plus this library's extras when needed). */
export function configJson(config: HybridConfig): string {
  const json = JSON.parse(configToJson(config.base)) as Record<string, unknown>;
  if (!isUniform(config)) json[EXTRA_FIELDS.layers] = config.layers;
  if (Object.values(config.bitnet).some(Boolean)) json[EXTRA_FIELDS.bitnet] = config.bitnet;
  return isUniform(config) && !json[EXTRA_FIELDS.bitnet] ? configToJson(config.base) : JSON.stringify(json, null, 2) + '\n';
}

/** Options of {@link savePretrained}. */
export interface SavePretrainedOptions {
  /** Shard past this many bytes of tensor data (default 5·10⁹). */
  maxShardBytes?: number;
  /** Called before each weight is written, with the count written so far and the total (progress). */
  onTensor?: (written: number, total: number) => void;
}

/**
 * Write `config.json` and `model.safetensors` (sharded past `maxShardBytes`) into `dir`.
 * Each file is written under a temporary name and renamed when complete.
 */
export async function savePretrained(model: CausalLm, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  // a packed model: its packed BitNet weights as raw U8 data (and weight_scale) next to the float tensors
  const weights: Record<string, Tensor | RawTensorData> = model.checkpointTensors ? model.checkpointTensors() : model.stateDict();
  const { onTensor } = options;
  const names = Object.keys(weights);
  let written = 0;
  const isTensor = (t: Tensor | RawTensorData): t is Tensor => t instanceof tf.Tensor;
  // with onTensor, each weight is handed to the writer when its turn comes (a copy the writer disposes)
  const lazy = (t: Tensor | RawTensorData): LazyTensor =>
    isTensor(t)
      ? { dtype: 'F32', shape: t.shape, load: () => (onTensor!(written++, names.length), tf.clone(t)) }
      : { dtype: t.dtype, shape: t.shape, load: () => (onTensor!(written++, names.length), t.data) };
  const entries: Record<string, Tensor | RawTensorData | LazyTensor> = onTensor ? Object.fromEntries(names.map((k) => [k, lazy(weights[k])])) : weights;
  try {
    await writeShardedSafetensors(dir, entries, { maxShardBytes: options.maxShardBytes, metadata: { format: 'pt' } });
  } finally {
    for (const [k, t] of Object.entries(weights)) if (isTensor(t) && /o_proj\.weight$|out_proj\.weight$/.test(k)) t.dispose();
  }
  const tmp = join(dir, `.config.json.tmp-${process.pid}`);
  await writeFile(tmp, configJson(model.config));
  await rename(tmp, join(dir, 'config.json'));
}

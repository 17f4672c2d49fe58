/**
 * The one-rank layout of a {@link FalconH1ForCausalLM} in distributed checkpoints: its plan (every
 * weight whole), its optimizer state under Hugging Face names (AdamW keys moments by the model's
 * variables, where `o_proj` and `out_proj` are one fused `[d, attn + d_ssm]` projection), and
 * reading a checkpoint saved under any layout into one model.
 */
import { replicated } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { hybridConfig } from '../../config.js';
import type { FromPretrainedOptions } from '../../pretrained.js';
import { FalconH1ForCausalLM } from '../../model.js';
import { loadDistributedCheckpoint } from './load.js';
import { readDistributedCheckpoint } from './manifest.js';
import type { LoadedDistributedCheckpoint } from './load.js';
import type { VerifyMode } from './shard_reader.js';
import type { TrainerOptimizer } from '../trainer.js';

const FUSED = /^(\w+)\.model\.layers\.(\d+)\.fused_out_proj\.weight$/;
const SPLIT = /^(\w+)\.model\.layers\.(\d+)\.(self_attn\.o_proj|mamba\.out_proj)\.weight$/;

/** The plan of one rank holding the whole model: every weight (Hugging Face names) whole. @param model - the model */
export function modelPlan(model: FalconH1ForCausalLM): ShardPlan {
  return Object.fromEntries([...model.stateDictShapes()].map(([k, s]) => [k, replicated(s)]));
}

/**
 * Optimizer tensors keyed `<slot>.<variable>` (as `AdamW.state()` gives them) under Hugging Face
 * names: each layer's fused projection split into `o_proj` and `out_proj`.
 * @param model - the model the optimizer trains
 * @param tensors - `<slot>.<variable name>` → moment
 * @returns `<slot>.<Hugging Face name>` → moment (new tensors for the split ones, the given ones otherwise)
 */
export function optimizerStateToHf(model: FalconH1ForCausalLM, tensors: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const m = FUSED.exec(k);
    if (!m) out[k] = t;
    else for (const [name, piece] of Object.entries(model.layers[Number(m[2])].splitFused(t))) out[`${m[1]}.model.layers.${m[2]}.${name}`] = piece;
  }
  return out;
}

/**
 * The inverse of {@link optimizerStateToHf}: `o_proj` and `out_proj` moments stacked along the
 * input dimension into the fused projection's (attention columns first, as the model fuses them).
 * @param tensors - `<slot>.<Hugging Face name>` → moment
 * @returns `<slot>.<variable name>` → moment (new tensors for the fused ones)
 */
export function optimizerStateFromHf(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const parts = new Map<string, Tensor[]>();
  for (const [k, t] of Object.entries(tensors)) {
    const m = SPLIT.exec(k);
    if (!m) {
      out[k] = t;
      continue;
    }
    const key = `${m[1]}.model.layers.${m[2]}.fused_out_proj.weight`;
    if (!parts.has(key)) parts.set(key, []);
    // attention's columns first
    parts.get(key)![m[3] === 'self_attn.o_proj' ? 'unshift' : 'push'](t);
  }
  for (const [k, ts] of parts) out[k] = ts.length === 1 ? tf.clone(ts[0]) : tf.concat(ts, 1);
  return out;
}

/** Options of {@link loadModelFromDistributed}. */
export interface LoadModelOptions extends Pick<FromPretrainedOptions, 'bitnet'> {
  /** How rank files are checked before reading (default `'sha256'`). */
  verify?: VerifyMode;
}

/**
 * Read a distributed checkpoint saved under any layout into one model on this process.
 * @param path - a training run directory (its latest commit) or a checkpoint directory
 * @returns the model (its config from the checkpoint) and the checkpoint (its `weights` already
 *   loaded into the model and disposed; `optimizer` empty)
 */
export async function loadModelFromDistributed(path: string, options: LoadModelOptions = {}): Promise<{ model: FalconH1ForCausalLM; checkpoint: LoadedDistributedCheckpoint }> {
  const { manifest, dir } = await readDistributedCheckpoint(path);
  const model = new FalconH1ForCausalLM(hybridConfig(manifest.config, { source: `${dir}/layout.json`, bitnet: options.bitnet }));
  try {
    const ckpt = await loadDistributedCheckpoint(dir, { plan: modelPlan(model), verify: options.verify, prefer: 0 });
    try {
      model.loadStateDict(ckpt.weights);
    } finally {
      tf.dispose(Object.values(ckpt.weights));
    }
    return { model, checkpoint: { ...ckpt, weights: {} } };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Restore one process's model and optimizer from a distributed checkpoint saved under any layout
 * (weights, every optimizer moment re-sharded to whole tensors, the optimizer's step count); the
 * caller continues from the returned state's `step` (the data position) with its RNG.
 * @param path - a training run directory (its latest commit) or a checkpoint directory
 * @param model - the model (its config must be the saved one)
 * @param optimizer - its optimizer (`AdamW`, keyed by the model's variables)
 * @returns the checkpoint read (tensors already loaded and disposed)
 * @throws when the checkpoint is incomplete, damaged, of another config, or lacks optimizer state
 */
export async function restoreFromDistributed(path: string, model: FalconH1ForCausalLM, optimizer: TrainerOptimizer, options: { verify?: VerifyMode } = {}): Promise<LoadedDistributedCheckpoint> {
  const ckpt = await loadDistributedCheckpoint(path, { plan: modelPlan(model), optimizer: true, config: model.config, verify: options.verify, prefer: 0 });
  try {
    if (!ckpt.manifest.slots.length) throw new Error(`${ckpt.dir} holds no optimizer state (saved for inference?): it cannot resume training`);
    model.loadStateDict(ckpt.weights);
    const fused = optimizerStateFromHf(ckpt.optimizer);
    try {
      optimizer.loadState(fused, ckpt.state.optimizerStep);
    } finally {
      tf.dispose(Object.values(fused).filter((t) => !Object.values(ckpt.optimizer).includes(t)));
    }
  } finally {
    tf.dispose([...Object.values(ckpt.weights), ...Object.values(ckpt.optimizer)]);
  }
  return { ...ckpt, weights: {}, optimizer: {} };
}

/**
 * Loading a distributed checkpoint into any layout: each rank passes its own plan (how it holds
 * each parameter) and gets its local tensors, re-sharded from whatever layout saved them, plus the
 * optimizer moments cut the same way and the trainer state (step, data position, RNG) for an exact
 * resume. Incomplete or damaged checkpoints and ones of another model are refused before any
 * tensor is returned.
 */
import { getWorld, isInitialized } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { configJson } from '../../pretrained.js';
import { readDistributedCheckpoint } from './manifest.js';
import type { DistributedManifest, DistributedTrainerState } from './manifest.js';
import { ShardReader } from './shard_reader.js';
import type { VerifyMode } from './shard_reader.js';

/** Options of {@link loadDistributedCheckpoint}. */
export interface DistributedLoadOptions {
  /** This rank's parameters and how each is cut (Hugging Face names); every one must be in the checkpoint. */
  plan: ShardPlan;
  /** Also return every optimizer slot of each parameter, cut as the parameter (default false). */
  optimizer?: boolean;
  /** Refuse a checkpoint of another model config. */
  config?: HybridConfig;
  /** Read pieces several ranks saved from this saved rank first (default: this process's global rank). */
  prefer?: number;
  /** How rank files are checked before reading (default `'sha256'`). */
  verify?: VerifyMode;
}

/** What {@link loadDistributedCheckpoint} returns (the caller disposes the tensors). */
export interface LoadedDistributedCheckpoint {
  /** The checkpoint's directory. */
  dir: string;
  /** The step saved. */
  step: number;
  /** The trainer state (options, data position, RNG, optimizer step). */
  state: DistributedTrainerState;
  /** The model's `config.json` text. */
  config: string;
  /** The manifest (the saving layout). */
  manifest: DistributedManifest;
  /** This rank's parameters, by name of the plan, as the plan cuts them. */
  weights: Record<string, Tensor>;
  /** With `optimizer`: `<slot>.<name>` for every slot saved of each parameter of the plan. */
  optimizer: Record<string, Tensor>;
}

/**
 * Load this rank's shards of a distributed checkpoint saved under any layout.
 * @param path - a training run directory (its latest commit) or a checkpoint directory
 * @param options - this rank's plan; whether to load the optimizer state; checks
 * @throws naming the problem: an incomplete checkpoint (no manifest, a missing or damaged rank
 *   file), another model's config, a parameter the checkpoint lacks or holds with another shape
 */
export async function loadDistributedCheckpoint(path: string, options: DistributedLoadOptions): Promise<LoadedDistributedCheckpoint> {
  const ckpt = await readDistributedCheckpoint(path);
  const { manifest: m, dir } = ckpt;
  if (options.config && configJson(options.config) !== m.config) throw new Error(`${dir} was saved from another model: its config.json differs from the model's`);
  const names = Object.keys(options.plan);
  const missing = names.filter((n) => !m.params.includes(n));
  if (missing.length) throw new Error(`${dir} has no parameter ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? `, … (${missing.length} in all)` : ''} (another model?)`);
  const reader = new ShardReader(ckpt, { prefer: options.prefer ?? (isInitialized() ? getWorld().globalRank : 0), verify: options.verify });
  const weights: Record<string, Tensor> = {};
  const optimizer: Record<string, Tensor> = {};
  try {
    for (const n of names) weights[n] = await reader.tensor(n, options.plan[n]);
    if (options.optimizer) {
      // parameters without optimizer state (packed ternary, integer) have no slots
      for (const slot of m.slots) for (const n of names) if (ckpt.tensors.has(`${slot}.${n}`)) optimizer[`${slot}.${n}`] = await reader.tensor(`${slot}.${n}`, options.plan[n]);
    }
  } catch (e) {
    tf.dispose([...Object.values(weights), ...Object.values(optimizer)]);
    throw e;
  } finally {
    await reader.close();
  }
  return { dir, step: m.step, state: m.state, config: m.config, manifest: m, weights, optimizer };
}

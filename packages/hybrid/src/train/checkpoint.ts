/**
 * Training checkpoints as one atomic unit. A save writes the model (Hugging Face layout), the
 * optimizer state and `trainer_state.json` (step, options, data position and fingerprint) into a
 * temporary directory, each file fsynced, then `manifest.json` (every file's size and SHA-256);
 * renames the directory to `checkpoint-<step>`; and commits by renaming a new `latest.json` (naming
 * that directory and the manifest's hash) into place. Only then are older checkpoints removed and the
 * model linked to the run directory's top level (for transformers and `falcon generate`). A process
 * killed at any instant leaves either the previous commit or the new one; anything else in the
 * directory is a leftover that `prepareRunDirectory` (run_directory.ts) removes at the next start.
 *
 * Layout of a run directory:
 * ```
 * latest.json            {"format", "step", "checkpoint": "checkpoint-8", "manifest": {bytes, sha256}}
 * checkpoint-8/          config.json, model.safetensors, optimizer.safetensors, trainer_state.json, manifest.json
 * metrics.jsonl          one line per step, each step once
 * config.json, model.safetensors   hard links to the latest checkpoint's model
 * ```
 */
import { copyFile, link, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { FalconH1ForCausalLM } from '../model.js';
import { digest, fsync, writeDurable } from './durable.js';
import type { FileDigest } from './durable.js';
import { killPoint } from './kill_point.js';
import { LATEST, MANIFEST, MODEL_FILE, CHECKPOINT_DIR, readLatest, RUN_FORMAT, TRAINING_FILES } from './latest.js';
import type { Latest } from './latest.js';

/** What `trainer_state.json` holds. */
export interface TrainerState {
  /** Optimizer steps done. */
  step: number;
  /** AdamW's own step count (bias correction). */
  optimizerStep: number;
  /** The run's hyper-parameters. */
  options: Record<string, unknown>;
  /** The data position: batches are a function of (seed, step), so the step is the position; and which data it was. */
  data: { seed: number; batchSize: number; seqlen: number; tokens: number; sha256: string };
  /** What the caller recorded about the run (the CLI: config source, data path). */
  info?: Record<string, unknown>;
}

/** A committed, verified checkpoint. */
export interface CommittedCheckpoint {
  /** Its step. */
  step: number;
  /** Its directory. */
  dir: string;
  /** Its `trainer_state.json`. */
  state: TrainerState;
  /** Its `config.json` text. */
  configText: string;
}

/** Tensors as lazy entries (copies the writer disposes), with the `write:<file>` kill point half-way. */
function lazyEntries(tensors: Record<string, Tensor>, file: string, step: number): Record<string, LazyTensor> {
  const names = Object.keys(tensors);
  let loaded = 0;
  return Object.fromEntries(
    names.map((k) => {
      const t = tensors[k];
      const entry: LazyTensor = {
        dtype: t.dtype === 'int32' ? 'I32' : 'F32',
        shape: t.shape,
        load: () => {
          if (loaded++ === names.length >> 1) killPoint(`write:${file}`, step);
          return tf.clone(t);
        },
      };
      return [k, entry];
    }),
  );
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointParts {
  /** The step reached. */
  step: number;
  /** The model (its weights and config). */
  model: FalconH1ForCausalLM;
  /** The optimizer's moments by name. */
  optimizerTensors: Record<string, Tensor>;
  /** `trainer_state.json`. */
  state: TrainerState;
}

/**
 * Save one checkpoint atomically into the run directory `dir` and commit it as the latest.
 * Call with the run's lock held (the trainer does).
 * @param dir - the run directory
 * @param parts - what to save
 * @returns the checkpoint's directory
 */
export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<string> {
  const { step } = parts;
  const { name, tmp } = await startCheckpoint(dir, step);
  // model: config.json + model.safetensors (or shards); killed half-way through its tensors when armed
  await parts.model.savePretrained(tmp, { onTensor: (i, n) => i === n >> 1 && killPoint('write:model.safetensors', step) });
  killPoint('after:model.safetensors', step);
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), lazyEntries(parts.optimizerTensors, 'optimizer.safetensors', step));
  killPoint('after:optimizer.safetensors', step);
  await writeDurable(join(tmp, 'trainer_state.json'), JSON.stringify(parts.state, null, 2) + '\n', 'trainer_state.json', step);
  killPoint('after:trainer_state.json', step);
  const files: Record<string, FileDigest> = {};
  for (const f of (await readdir(tmp)).sort()) {
    await fsync(join(tmp, f));
    files[f] = await digest(join(tmp, f));
  }
  await writeDurable(join(tmp, MANIFEST), JSON.stringify({ format: RUN_FORMAT, step, files }, null, 2) + '\n', MANIFEST, step);
  const final = await commitCheckpoint(dir, name, tmp, step, MANIFEST);
  await exportModel(dir, final, step);
  return final;
}

/**
 * Begin a checkpoint of `step`: its directory name (`checkpoint-<step>`, `-r<n>` when the latest
 * commit already has that name) and a fresh, empty temporary directory for its files. @internal
 * @param dir - the run directory
 * @param step - the step saved
 */
export async function startCheckpoint(dir: string, step: number): Promise<{ name: string; tmp: string }> {
  const previous = await readLatest(dir);
  let name = `checkpoint-${step}`;
  for (let r = 1; previous?.checkpoint === name; r++) name = `checkpoint-${step}-r${r}`;
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  return { name, tmp };
}

/**
 * Commit a checkpoint whose files (its manifest last) are complete in `tmp`: rename the directory to
 * `name`, commit it by renaming a new `latest.json` (naming it and the manifest's digest) into place,
 * then remove the other checkpoint directories. Kill points `before-rename`, `after-rename`,
 * `latest-tmp`, `after-commit`. @internal
 * @param dir - the run directory
 * @param name - the checkpoint's directory name
 * @param tmp - its temporary directory (from {@link startCheckpoint})
 * @param step - the step saved
 * @param manifest - the manifest's file name in the checkpoint
 * @returns the checkpoint's directory
 */
export async function commitCheckpoint(dir: string, name: string, tmp: string, step: number, manifest: string): Promise<string> {
  await fsync(tmp);
  killPoint('before-rename', step);
  const final = join(dir, name);
  await rm(final, { recursive: true, force: true }); // an uncommitted leftover of this name
  await rename(tmp, final);
  await fsync(dir);
  killPoint('after-rename', step);
  const latest: Latest = { format: RUN_FORMAT, step, checkpoint: name, manifest: await digest(join(final, manifest)) };
  const latestTmp = join(dir, `.${LATEST}.tmp-${process.pid}`);
  await rm(latestTmp, { force: true });
  await writeDurable(latestTmp, JSON.stringify(latest, null, 2) + '\n', LATEST, step);
  killPoint('latest-tmp', step);
  await rename(latestTmp, join(dir, LATEST)); // the commit
  await fsync(dir);
  killPoint('after-commit', step);
  for (const f of await readdir(dir)) if (CHECKPOINT_DIR.test(f) && f !== name) await rm(join(dir, f), { recursive: true, force: true });
  return final;
}

/**
 * Link (or copy) a checkpoint's model files to the run directory's top level, each replaced
 * atomically, and remove top-level model files it does not have. @internal
 * @param dir - the run directory
 * @param checkpoint - the checkpoint's directory
 * @param step - its step (for the `export` kill point)
 */
export async function exportModel(dir: string, checkpoint: string, step: number): Promise<void> {
  const files = (await readdir(checkpoint)).filter((f) => !TRAINING_FILES.has(f));
  // weights first, config.json last: a reader of the top level sees the old or the new weights under one config
  files.sort((a, b) => Number(a === 'config.json') - Number(b === 'config.json') || a.localeCompare(b));
  let n = 0;
  for (const f of files) {
    const tmp = join(dir, `.${f}.export-${process.pid}`);
    await rm(tmp, { force: true });
    await link(join(checkpoint, f), tmp).catch(() => copyFile(join(checkpoint, f), tmp));
    await rename(tmp, join(dir, f));
    // rename() between two links of one file (the top level already linked to this checkpoint's file)
    // does nothing and leaves the temporary name: remove it
    await rm(tmp, { force: true });
    if (n++ === 0) killPoint('export', step);
  }
  const keep = new Set(files);
  for (const f of await readdir(dir)) if (MODEL_FILE.test(f) && !keep.has(f)) await unlink(join(dir, f)).catch(() => undefined);
}

/**
 * The latest committed checkpoint of a run directory, with every file checked against its
 * manifest (size and SHA-256).
 * @param dir - the run directory
 * @returns undefined when nothing was ever committed
 * @throws naming the file when the checkpoint is damaged or unreadable
 */
export async function readCommitted(dir: string): Promise<CommittedCheckpoint | undefined> {
  const latest = await readLatest(dir);
  if (!latest) return undefined;
  const ckpt = join(dir, latest.checkpoint);
  const damaged = (what: string) => new Error(`${ckpt} is damaged (${what}); the run cannot be resumed safely from it`);
  const m = await digest(join(ckpt, MANIFEST)).catch(() => undefined);
  if (!m) throw damaged(`${MANIFEST} is missing`);
  if (m.sha256 !== latest.manifest.sha256 || m.bytes !== latest.manifest.bytes) throw damaged(`${MANIFEST} does not match the hash in ${LATEST}`);
  const manifest = JSON.parse(await readFile(join(ckpt, MANIFEST), 'utf8')) as { step: number; files: Record<string, FileDigest> };
  if (manifest.step !== latest.step) throw damaged(`${MANIFEST} is of step ${manifest.step}, ${LATEST} says ${latest.step}`);
  for (const [f, want] of Object.entries(manifest.files)) {
    const got = await digest(join(ckpt, f)).catch(() => undefined);
    if (!got) throw damaged(`${f} is missing`);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) throw damaged(`${f} has ${got.bytes} bytes with SHA-256 ${got.sha256.slice(0, 12)}…, the manifest says ${want.bytes} bytes, ${want.sha256.slice(0, 12)}…`);
  }
  const state = JSON.parse(await readFile(join(ckpt, 'trainer_state.json'), 'utf8')) as TrainerState;
  if (state.step !== latest.step) throw damaged(`trainer_state.json is of step ${state.step}, ${LATEST} says ${latest.step}`);
  return { step: latest.step, dir: ckpt, state, configText: await readFile(join(ckpt, 'config.json'), 'utf8') };
}


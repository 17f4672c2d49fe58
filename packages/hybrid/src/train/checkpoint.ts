/**
 * Training checkpoints as one atomic unit. A save writes the model (Hugging Face layout), the
 * optimizer state and `trainer_state.json` (step, options, data position and fingerprint) into a
 * temporary directory, each file fsynced, then `manifest.json` (every file's size and SHA-256);
 * renames the directory to `checkpoint-<step>`; and commits by renaming a new `latest.json` (naming
 * that directory and the manifest's hash) into place. Only then are older checkpoints removed and the
 * model linked to the run directory's top level (for transformers and `falcon generate`). A process
 * killed at any instant leaves either the previous commit or the new one; anything else in the
 * directory is a leftover that {@link prepareRunDirectory} removes at the next start.
 *
 * Layout of a run directory:
 * ```
 * latest.json            {"format", "step", "checkpoint": "checkpoint-8", "manifest": {bytes, sha256}}
 * checkpoint-8/          config.json, model.safetensors, optimizer.safetensors, trainer_state.json, manifest.json
 * metrics.jsonl          one line per step, each step once
 * config.json, model.safetensors   hard links to the latest checkpoint's model
 * ```
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { FalconH1ForCausalLM } from '../model.js';
import { killPoint, killPointArmed } from './kill_point.js';
import { LATEST, readLatest, RUN_FORMAT } from './latest.js';
import type { Latest } from './latest.js';

/** The manifest of one checkpoint: every other file's size and SHA-256. */
export const MANIFEST = 'manifest.json';
/** The run's metrics, one JSON line per step. */
export const METRICS = 'metrics.jsonl';
const LOCK = '.lock';
const CHECKPOINT_DIR = /^checkpoint-\d+(-r\d+)?$/;
/** Files of the checkpoint that are not the model (not linked to the top level). */
const TRAINING_FILES = new Set(['optimizer.safetensors', 'trainer_state.json', MANIFEST]);
/** Model files a run directory's top level may hold. */
const MODEL_FILE = /^(config\.json|model\.safetensors|model-\d{5}-of-\d{5}\.safetensors|model\.safetensors\.index\.json)$/;

/** A file's size and SHA-256 (hex). */
export interface FileDigest {
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the contents, lowercase hex. */
  sha256: string;
}

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

async function digest(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** SHA-256 (hex) of bytes. @param bytes - the data */
export function sha256(bytes: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

async function fsync(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } catch (e) {
    // some file systems cannot fsync a directory; the rename is still atomic there
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await h.close();
  }
}

/** Write a new file and fsync it; with a `write:<name>` kill point armed, die after half of it. */
async function writeDurable(path: string, text: string, name: string, step: number): Promise<void> {
  const bytes = Buffer.from(text);
  const h = await open(path, 'wx');
  try {
    let start = 0;
    if (killPointArmed(`write:${name}`, step)) {
      start = bytes.byteLength >> 1;
      await h.write(bytes, 0, start, 0);
      await h.sync();
      killPoint(`write:${name}`, step);
    }
    await h.write(bytes, start, bytes.byteLength - start, start);
    await h.sync();
  } finally {
    await h.close();
  }
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
  const previous = await readLatest(dir);
  let name = `checkpoint-${step}`;
  for (let r = 1; previous?.checkpoint === name; r++) name = `checkpoint-${step}-r${r}`;
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
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
  await fsync(tmp);
  killPoint('before-rename', step);
  const final = join(dir, name);
  await rm(final, { recursive: true, force: true }); // an uncommitted leftover of this name
  await rename(tmp, final);
  await fsync(dir);
  killPoint('after-rename', step);
  const latest: Latest = { format: RUN_FORMAT, step, checkpoint: name, manifest: await digest(join(final, MANIFEST)) };
  const latestTmp = join(dir, `.${LATEST}.tmp-${process.pid}`);
  await rm(latestTmp, { force: true });
  await writeDurable(latestTmp, JSON.stringify(latest, null, 2) + '\n', LATEST, step);
  killPoint('latest-tmp', step);
  await rename(latestTmp, join(dir, LATEST)); // the commit
  await fsync(dir);
  killPoint('after-commit', step);
  for (const f of await readdir(dir)) if (CHECKPOINT_DIR.test(f) && f !== name) await rm(join(dir, f), { recursive: true, force: true });
  await exportModel(dir, final, step);
  return final;
}

/** Link (or copy) the checkpoint's model files to the run directory's top level, each replaced atomically. */
async function exportModel(dir: string, checkpoint: string, step: number): Promise<void> {
  const files = (await readdir(checkpoint)).filter((f) => !TRAINING_FILES.has(f));
  // weights first, config.json last: a reader of the top level sees the old or the new weights under one config
  files.sort((a, b) => Number(a === 'config.json') - Number(b === 'config.json') || a.localeCompare(b));
  let n = 0;
  for (const f of files) {
    const tmp = join(dir, `.${f}.export-${process.pid}`);
    await rm(tmp, { force: true });
    await link(join(checkpoint, f), tmp).catch(() => copyFile(join(checkpoint, f), tmp));
    await rename(tmp, join(dir, f));
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

/** A leftover of an interrupted save or export: a temporary directory or file of ours. */
function isLeftover(name: string): boolean {
  return /^\.checkpoint-.*\.tmp-\d+$/.test(name) || /^\..*\.(export|tmp)-\d+$/.test(name) || /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Get a run directory ready for training from `step`: remove leftovers of an interrupted save
 * (temporary files and directories, uncommitted or superseded checkpoint directories), link the
 * committed model to the top level again (an export the crash cut short), and keep
 * in metrics.jsonl exactly one line for each step up to `step` (later lines, repeated steps and a
 * torn last line are dropped). Call with the run's lock held.
 * @param dir - the run directory (created if missing)
 * @param step - the step training continues from (the latest commit's, or 0)
 * @throws when the latest commit is of another step (the caller did not restore it)
 */
export async function prepareRunDirectory(dir: string, step: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const latest = await readLatest(dir);
  if ((latest?.step ?? 0) !== step) {
    throw new Error(
      latest
        ? `${dir} holds a run committed at step ${latest.step}, but this trainer is at step ${step}: restore() it first, or use another directory`
        : `${dir} holds no committed checkpoint, but this trainer is at step ${step}`,
    );
  }
  for (const f of await readdir(dir)) {
    if (isLeftover(f) || (CHECKPOINT_DIR.test(f) && f !== latest?.checkpoint)) await rm(join(dir, f), { recursive: true, force: true });
  }
  if (latest) await exportModel(dir, join(dir, latest.checkpoint), step); // a save killed before or during its export
  const path = join(dir, METRICS);
  const text = await readFile(path, 'utf8').catch(() => '');
  const seen = new Set<number>();
  const keep: string[] = [];
  for (const line of text.split('\n')) {
    let s: number | undefined;
    try {
      s = (JSON.parse(line) as { step?: number }).step;
    } catch {
      continue; // a torn line
    }
    if (typeof s === 'number' && s >= 1 && s <= step && !seen.has(s)) {
      seen.add(s);
      keep.push(line);
    }
  }
  const kept = keep.map((l) => l + '\n').join('');
  if (kept !== text) {
    const tmp = join(dir, `.${METRICS}.tmp-${process.pid}`);
    await rm(tmp, { force: true });
    await writeDurable(tmp, kept, METRICS, step);
    await rename(tmp, path);
  }
}

/** fsync metrics.jsonl (before a commit, so the committed steps' lines are on disk). @param dir - the run directory */
export async function syncMetrics(dir: string): Promise<void> {
  await fsync(join(dir, METRICS)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/**
 * Take the run directory's lock (`.lock` with this process's id), so that two processes never
 * train into one directory; a lock left by a process that no longer exists is taken over.
 * @param dir - the run directory (created if missing)
 * @returns a function that releases the lock
 * @throws when a live process holds it
 */
export async function lockRunDirectory(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK);
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(path, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => unlink(path).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number(await readFile(path, 'utf8').catch(() => ''));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`${dir} is in use by process ${pid} (if that is not a falcon training process, remove ${path})`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What of a training run a directory holds, if anything: a commit, checkpoints, metrics or the
 * files of an earlier save. Used to refuse starting a new run over an old one.
 * @param dir - the directory
 * @returns a description (e.g. `a run committed at step 8`), or undefined for a missing or run-free directory
 */
export async function describeRun(dir: string): Promise<string | undefined> {
  const latest = await readLatest(dir).catch(() => undefined);
  if (latest) return `a training run committed at step ${latest.step}`;
  const files = await readdir(dir).catch(() => [] as string[]);
  const ours = files.filter((f) => f === METRICS || f === 'trainer_state.json' || f === 'optimizer.safetensors' || MODEL_FILE.test(f) || CHECKPOINT_DIR.test(f) || isLeftover(f));
  return ours.length ? `the files of a training run (${ours.slice(0, 3).join(', ')}${ours.length > 3 ? ', …' : ''}) but no committed checkpoint` : undefined;
}

/**
 * Remove a run's files from a directory (for `--overwrite`): the commit first, so an interrupted
 * removal never leaves a run that looks resumable; files that are not a run's are left alone.
 * Call with the run's lock held.
 * @param dir - the run directory
 */
export async function removeRun(dir: string): Promise<void> {
  await rm(join(dir, LATEST), { force: true });
  await fsync(dir).catch(() => undefined);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (f === METRICS || f === 'trainer_state.json' || f === 'optimizer.safetensors' || MODEL_FILE.test(f) || CHECKPOINT_DIR.test(f) || isLeftover(f)) {
      await rm(join(dir, f), { recursive: true, force: true });
    }
  }
}

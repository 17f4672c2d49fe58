/**
 * The layout of a training run directory (file names, what is a leftover) and `latest.json`, its
 * commit record: which `checkpoint-<step>` directory is the run's current state, and the size and
 * SHA-256 of its manifest. It is replaced by a rename, so it always names a complete checkpoint
 * (see `checkpoint.ts`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The commit record's file name. */
export const LATEST = 'latest.json';
/** The manifest of one checkpoint: every other file's size and SHA-256. */
export const MANIFEST = 'manifest.json';
/** The run's metrics, one JSON line per step. */
export const METRICS = 'metrics.jsonl';
/** The run's lock file (the id of the process training in it). */
export const LOCK = '.lock';
/** A checkpoint directory's name: `checkpoint-<step>`, `-r<n>` when a step is saved again. */
export const CHECKPOINT_DIR = /^checkpoint-\d+(-r\d+)?$/;
/** Files of a checkpoint that are not the model (not linked to the top level). */
export const TRAINING_FILES: ReadonlySet<string> = new Set(['optimizer.safetensors', 'trainer_state.json', MANIFEST]);
/** Model files a run directory's top level may hold. */
export const MODEL_FILE = /^(config\.json|model\.safetensors|model-\d{5}-of-\d{5}\.safetensors|model\.safetensors\.index\.json)$/;

/**
 * Whether a name in a run directory is a leftover of an interrupted save or export: a temporary
 * directory or file of ours.
 * @param name - a file or directory name
 */
export function isLeftover(name: string): boolean {
  return /^\.checkpoint-.*\.tmp-\d+$/.test(name) || /^\..*\.(export|tmp)-\d+$/.test(name) || /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}
/** The format tag written into `latest.json` and each manifest. */
export const RUN_FORMAT = 'falcon-train-checkpoint/1';

/** What `latest.json` holds. */
export interface Latest {
  /** {@link RUN_FORMAT}. */
  format: string;
  /** The committed step. */
  step: number;
  /** The checkpoint's directory name inside the run directory, e.g. `checkpoint-8`. */
  checkpoint: string;
  /** Size and SHA-256 of that checkpoint's `manifest.json`. */
  manifest: { bytes: number; sha256: string };
}

/**
 * Read a run directory's `latest.json`.
 * @param dir - the run directory
 * @returns undefined when the directory has none (nothing committed, or not a run)
 * @throws when it exists but is not a commit record this version writes
 */
export async function readLatest(dir: string): Promise<Latest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, LATEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
  let l: Latest;
  try {
    l = JSON.parse(text) as Latest;
  } catch {
    throw new Error(`${join(dir, LATEST)} is not valid JSON`);
  }
  if (l?.format !== RUN_FORMAT || !Number.isInteger(l.step) || typeof l.checkpoint !== 'string' || !/^checkpoint-[\w-]+$/.test(l.checkpoint) || typeof l.manifest?.sha256 !== 'string') {
    throw new Error(`${join(dir, LATEST)} is not a ${RUN_FORMAT} commit record`);
  }
  return l;
}

/**
 * The directory holding a model: a run directory's latest committed checkpoint, else `dir` itself.
 * @param dir - a model directory or a training run directory
 */
export async function resolveModelDir(dir: string): Promise<string> {
  const l = await readLatest(dir);
  return l ? join(dir, l.checkpoint) : dir;
}

/**
 * The manifest of a distributed checkpoint, `layout.json`, and reading it back: which layout saved
 * the checkpoint (tp, cp, pp, dp sizes), each rank's file (`rank-XXXXX.safetensors`, its size and
 * SHA-256) and every tensor the file holds with its dtype and `ShardSpec`, the model's
 * config, the step and the trainer state (options, data position, RNG). Rank 0 writes it last,
 * after every rank's file is complete, and the directory is renamed into place after it: a
 * directory without a complete manifest is not a checkpoint, and reading it says so.
 *
 * ```
 * run/latest.json          commit record (names checkpoint-8, the digest of its layout.json)
 * run/checkpoint-8/        rank-00000.safetensors … rank-00003.safetensors, layout.json
 * ```
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPlans, checkShardSpec } from '@falcon/parallel';
import type { ShardPlan, ShardSpec } from '@falcon/parallel';
import type { TrainerState } from '../checkpoint.js';
import { digest } from '../durable.js';
import type { FileDigest } from '../durable.js';
import { LATEST, MANIFEST, readLatest } from '../latest.js';

/** The manifest's file name. */
export const LAYOUT = 'layout.json';
/** The format tag of {@link DistributedManifest}. */
export const DISTRIBUTED_FORMAT = 'falcon-distributed-checkpoint/1';

/** The file name of a rank's shards: `rank-00003.safetensors`. @param rank - its rank in the saving group */
export function rankFile(rank: number): string {
  return `rank-${String(rank).padStart(5, '0')}.safetensors`;
}

/** The sizes of a layout's parallel dimensions (their product is the world size). */
export interface LayoutSizes {
  /** Tensor-parallel size. */
  tp: number;
  /** Context-parallel size. */
  cp: number;
  /** Pipeline-parallel size. */
  pp: number;
  /** Data-parallel size. */
  dp: number;
}

/** The trainer state a distributed checkpoint carries: {@link TrainerState} plus the RNG state. */
export interface DistributedTrainerState extends TrainerState {
  /** The run's random state, as the trainer records it (seeds, counters); restored as it is. */
  rng?: Record<string, unknown>;
}

/** One tensor of a rank's file. */
export interface StoredTensor {
  /** The safetensors dtype it is stored as (`F32`, `I32`; `U8` for packed ternary codes). */
  dtype: string;
  /** How it is cut from the full tensor. */
  spec: ShardSpec;
  /** For an optimizer moment, its slot (`m`, `v`): the name is `<slot>.<parameter>`, cut as the parameter. */
  slot?: string;
}

/** One rank's entry in the manifest. */
export interface RankEntry {
  /** The rank in the saving group (the global rank when the group is the world). */
  rank: number;
  /** Its file, or null when the rank held nothing to save (e.g. a data-parallel replica). */
  file: string | null;
  /** The file's size and SHA-256 (absent when `file` is null). */
  digest?: FileDigest;
  /** Every tensor of the file: parameters by Hugging Face name, optimizer slots as `<slot>.<name>`. */
  tensors: Record<string, StoredTensor>;
}

/** What `layout.json` holds. */
export interface DistributedManifest {
  /** {@link DISTRIBUTED_FORMAT}. */
  format: string;
  /** The step saved. */
  step: number;
  /** The layout that saved it. */
  sizes: LayoutSizes;
  /** World size (the product of the sizes). */
  world: number;
  /** The model's `config.json` text. */
  config: string;
  /** Names of the parameters (Hugging Face names), in the model's order. */
  params: string[];
  /** Optimizer slots saved beside each parameter (`m`, `v` for AdamW; empty without optimizer state). */
  slots: string[];
  /** The trainer state (options, data position, RNG, optimizer step). */
  state: DistributedTrainerState;
  /** Every rank's file, by rank. */
  ranks: RankEntry[];
}

/** A distributed checkpoint read and checked by {@link readDistributedCheckpoint}. */
export interface DistributedCheckpoint {
  /** The checkpoint's directory. */
  dir: string;
  /** Its manifest. */
  manifest: DistributedManifest;
  /** Each tensor's full shape and encoding, by name (parameters and slots). */
  tensors: Map<string, { shape: number[]; encoding: 'plain' | 'ternary2' }>;
}

/** The plan of each rank of a manifest, by rank. */
export function manifestPlans(m: DistributedManifest): ShardPlan[] {
  return m.ranks.map((r) => Object.fromEntries(Object.entries(r.tensors).map(([k, t]) => [k, t.spec])));
}

function incomplete(dir: string, what: string): Error {
  return new Error(`${dir} is not a complete distributed checkpoint: ${what}`);
}

/**
 * Find and check a distributed checkpoint: a training run directory (its latest commit; the
 * manifest must match the digest in `latest.json`) or a checkpoint directory. Checks the manifest's
 * fields, that the ranks' specs fit together (every element of every tensor saved by some rank),
 * and that every rank's file exists with the size the manifest gives (contents are checked against
 * the SHA-256 when read).
 * @param path - a run directory or a checkpoint directory
 * @throws naming the directory and the problem: no manifest (an interrupted save), a manifest of
 *   another format or torn, a missing or resized rank file, specs that leave elements unsaved
 */
export async function readDistributedCheckpoint(path: string): Promise<DistributedCheckpoint> {
  const latest = await readLatest(path);
  const dir = latest ? join(path, latest.checkpoint) : path;
  let text: string;
  try {
    text = await readFile(join(dir, LAYOUT), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    const single = await stat(join(dir, MANIFEST)).then(() => true, () => false);
    if (single) throw new Error(`${dir} is a single-process checkpoint (${MANIFEST}, no ${LAYOUT}): read it with fromPretrained() or Trainer.restore()`);
    throw incomplete(dir, `${LAYOUT} is missing (the save was interrupted before its manifest was written, or this is not a checkpoint)`);
  }
  if (latest) {
    const d = await digest(join(dir, LAYOUT));
    if (d.sha256 !== latest.manifest.sha256 || d.bytes !== latest.manifest.bytes) throw incomplete(dir, `${LAYOUT} does not match the digest in ${join(path, LATEST)}`);
  }
  let m: DistributedManifest;
  try {
    m = JSON.parse(text) as DistributedManifest;
  } catch {
    throw incomplete(dir, `${LAYOUT} is not valid JSON (torn?)`);
  }
  if (m?.format !== DISTRIBUTED_FORMAT) throw incomplete(dir, `${LAYOUT} is not a ${DISTRIBUTED_FORMAT} manifest (format ${JSON.stringify(m?.format)})`);
  const bad = (what: string) => incomplete(dir, `${LAYOUT}: ${what}`);
  if (!Number.isInteger(m.step) || m.step < 0) throw bad(`step ${m.step} is not a step`);
  const { tp, cp, pp, dp } = m.sizes ?? ({} as LayoutSizes);
  if (![tp, cp, pp, dp].every((v) => Number.isInteger(v) && v >= 1) || tp * cp * pp * dp !== m.world) throw bad(`sizes ${JSON.stringify(m.sizes)} do not multiply to the world size ${m.world}`);
  if (!Array.isArray(m.ranks) || m.ranks.length !== m.world || m.ranks.some((r, i) => r?.rank !== i)) throw bad(`it lists ${m.ranks?.length} ranks, the world has ${m.world}`);
  if (typeof m.config !== 'string' || !Array.isArray(m.params) || !Array.isArray(m.slots) || typeof m.state !== 'object') throw bad('config, params, slots or state is missing');
  for (const r of m.ranks) {
    if (r.file !== null && r.file !== rankFile(r.rank)) throw bad(`rank ${r.rank}'s file is '${r.file}', expected ${rankFile(r.rank)}`);
    if (r.file === null && Object.keys(r.tensors).length) throw bad(`rank ${r.rank} has tensors but no file`);
    for (const [name, t] of Object.entries(r.tensors)) checkShardSpec(`${name} of rank ${r.rank}`, t.spec);
  }
  let tensors: DistributedCheckpoint['tensors'];
  try {
    tensors = checkPlans(manifestPlans(m));
  } catch (e) {
    throw bad((e as Error).message);
  }
  const missing = m.params.filter((n) => !tensors.has(n));
  if (missing.length) throw bad(`no rank saved ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? `, … (${missing.length} in all)` : ''}`);
  for (const r of m.ranks) {
    if (!r.file) continue;
    const s = await stat(join(dir, r.file)).catch(() => undefined);
    if (!s) throw incomplete(dir, `${r.file} (rank ${r.rank}'s shards) is missing`);
    if (s.size !== r.digest?.bytes) throw incomplete(dir, `${r.file} has ${s.size} bytes, the manifest says ${r.digest?.bytes}`);
  }
  return { dir, manifest: m, tensors };
}

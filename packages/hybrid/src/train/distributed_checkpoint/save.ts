/**
 * Saving a distributed checkpoint (a collective: every rank of the group calls it). Rank 0 makes
 * the step's temporary directory; each rank writes its own shards (parameters and optimizer
 * moments, as they are cut on that rank) to `rank-XXXXX.safetensors` there, fsynced; the ranks
 * send rank 0 their file's digest and the spec of every tensor; rank 0 checks that the specs hold
 * every element of every tensor, writes `layout.json` last, renames the directory to
 * `checkpoint-<step>` and commits it in `latest.json` (the single-process commit sequence of
 * `checkpoint.ts`). A crash anywhere before the commit leaves the previous checkpoint the run's
 * latest. Kill points (`FALCON_TEST_KILL_AT`): `write:rank-XXXXX.safetensors` (half its tensors
 * written), `after:rank-XXXXX.safetensors`, `before:layout.json`, `write:layout.json`, then those of
 * the commit (`before-rename` … `after-commit`).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '@falcon/checkpoint';
import type { LazyTensor, SafetensorsDtype } from '@falcon/checkpoint';
import { checkPlans, checkShardSpec, getWorld, isInitialized, localShape } from '@falcon/parallel';
import type { ProcessGroup, ShardPlan, ShardSpec } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { configJson } from '../../pretrained.js';
import { commitCheckpoint, startCheckpoint } from '../checkpoint.js';
import { digest, writeDurable } from '../durable.js';
import { killPoint } from '../kill_point.js';
import { allGatherJson } from './exchange.js';
import { DISTRIBUTED_FORMAT, LAYOUT, manifestPlans, rankFile } from './manifest.js';
import type { DistributedManifest, DistributedTrainerState, LayoutSizes, RankEntry, StoredTensor } from './manifest.js';
import { packedBytes, packedSizeProblem } from './ternary.js';

/** What {@link saveDistributedCheckpoint} writes (each rank passes its own plan and tensors). */
export interface DistributedSaveParts {
  /** The step reached. */
  step: number;
  /** This rank's parameters and how each is cut (Hugging Face names); `{}` on a rank that saves nothing (a data-parallel replica). */
  plan: ShardPlan;
  /**
   * This rank's local parameter tensors, one per name of `plan`, of shape `localShape`(spec);
   * a `ternary2` parameter as its packed bytes `[ceil(rows/4), cols]` (a `Uint8Array`, or the
   * int32 words of `packedWeightTensor`).
   */
  weights: Record<string, Tensor | Uint8Array>;
  /** Optimizer moments as `<slot>.<name>` (AdamW: `m.` and `v.`), cut as their parameter (`plan[name]`). */
  optimizer?: Record<string, Tensor>;
  /** The trainer state (rank 0's is saved; pass the same on every rank). */
  state: DistributedTrainerState;
  /** The model's config (rank 0's is saved). */
  config: HybridConfig;
  /** The layout's sizes (their product must be the group size). */
  sizes: Partial<LayoutSizes>;
  /** The group of every rank of the layout (default: the world; a world of one when no process group is initialized). */
  group?: ProcessGroup;
}

/** What one rank reports to the others in each round. */
interface Message {
  error?: string;
  tmp?: string;
  name?: string;
  entry?: RankEntry;
  dir?: string;
}

/** The tensors of this rank's file as lazy entries, with the `write:<file>` kill point half-way. */
function entries(parts: DistributedSaveParts, file: string): { lazy: Record<string, LazyTensor>; tensors: Record<string, StoredTensor> } {
  const lazy: Record<string, LazyTensor> = {};
  const tensors: Record<string, StoredTensor> = {};
  const all: Array<[string, Tensor | Uint8Array, ShardSpec, string | undefined]> = [
    ...Object.entries(parts.weights).map(([k, t]) => [k, t, parts.plan[k], undefined] as [string, Tensor | Uint8Array, ShardSpec, undefined]),
    ...Object.entries(parts.optimizer ?? {}).map(([k, t]) => [k, t, parts.plan[k.slice(k.indexOf('.') + 1)], k.slice(0, k.indexOf('.'))] as [string, Tensor, ShardSpec, string]),
  ];
  let loaded = 0;
  for (const [name, t, spec, slot] of all) {
    const packed = spec.encoding === 'ternary2';
    const shape = packed ? [Math.ceil(localShape(spec)[0] / 4), localShape(spec)[1]] : localShape(spec);
    const dtype: SafetensorsDtype = packed ? 'U8' : (t as Tensor).dtype === 'int32' ? 'I32' : 'F32';
    tensors[name] = slot ? { dtype, spec, slot } : { dtype, spec };
    lazy[name] = {
      dtype,
      shape,
      load: async () => {
        if (loaded++ === all.length >> 1) killPoint(`write:${file}`, parts.step);
        return packed ? packedBytes(name, t, spec) : tf.clone(t as Tensor);
      },
    };
  }
  return { lazy, tensors };
}

/** This rank's problems with its own parts (before anything is written). */
function checkParts(parts: DistributedSaveParts): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(parts.plan)) {
    try {
      checkShardSpec(name, spec);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (spec.encoding === 'ternary2' && spec.shape.length !== 2) problems.push(`${name}: a ternary2 spec needs a 2-d tensor, got [${spec.shape}]`);
    const t = parts.weights[name];
    if (!t) problems.push(`${name} is in the plan but not in the weights`);
    else if (spec.encoding === 'ternary2') {
      const problem = packedSizeProblem(name, t, spec);
      if (problem) problems.push(problem);
    } else if (t instanceof Uint8Array) problems.push(`${name}: bytes are only for packed (ternary2) specs; pass a tensor`);
    else if (!tf.util.arraysEqual(t.shape, localShape(spec))) problems.push(`${name} has shape [${t.shape}], its spec gives [${localShape(spec)}]`);
  }
  for (const name of Object.keys(parts.weights)) if (!parts.plan[name]) problems.push(`${name} is in the weights but not in the plan`);
  for (const [name, t] of Object.entries(parts.optimizer ?? {})) {
    const param = name.slice(name.indexOf('.') + 1);
    const spec = parts.plan[param];
    if (!name.includes('.') || !spec) problems.push(`optimizer tensor ${name} is not '<slot>.<a parameter of the plan>'`);
    else if (spec.encoding === 'ternary2') problems.push(`optimizer tensor ${name}: its parameter is packed (ternary2), which has no optimizer state`);
    else if (!tf.util.arraysEqual(t.shape, localShape(spec))) problems.push(`optimizer tensor ${name} has shape [${t.shape}], its parameter's spec gives [${localShape(spec)}]`);
  }
  return problems;
}

/**
 * Throw if any rank reported an error (every rank throws the same, after the round: no rank is
 * writing any more), rank 0 first removing the temporary directory.
 */
async function raise(messages: Message[], what: string, tmp: string | undefined, rank: number): Promise<void> {
  const errors = messages.flatMap((m, r) => (m.error ? [`rank ${r}: ${m.error}`] : []));
  if (!errors.length) return;
  if (rank === 0 && tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  throw new Error(`distributed checkpoint not saved (${what}): ${errors.join('; ')}`);
}

async function attempt(f: () => Promise<Partial<Message>>): Promise<Message> {
  try {
    return await f();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * Save one distributed checkpoint into the run directory `dir` and commit it as the latest.
 * Collective over `group`: every rank calls it with its own plan and tensors. Call with the run
 * directory in no other process's use (the trainer's lock).
 * @param dir - the run directory (shared by every rank: one machine or a shared file system)
 * @param parts - this rank's plan and tensors, and the state (see {@link DistributedSaveParts})
 * @returns the committed checkpoint's directory (on every rank)
 * @throws on every rank, naming the rank and the problem, when any rank's parts are invalid, its
 *   write failed, or the ranks' specs leave part of a tensor unsaved; nothing is committed then
 */
export async function saveDistributedCheckpoint(dir: string, parts: DistributedSaveParts): Promise<string> {
  const group = parts.group ?? (isInitialized() ? getWorld() : undefined);
  const rank = group?.rank ?? 0;
  const world = group?.size ?? 1;
  const { step } = parts;
  // round 1: every rank checks its parts; rank 0 makes the temporary directory
  const first = await allGatherJson<Message>(
    await attempt(async () => {
      const problems = checkParts(parts);
      if (problems.length) throw new Error(problems.join('; '));
      const { tp = 1, cp = 1, pp = 1 } = parts.sizes;
      const dp = parts.sizes.dp ?? world / (tp * cp * pp);
      if (![tp, cp, pp, dp].every((v) => Number.isInteger(v) && v >= 1) || tp * cp * pp * dp !== world) throw new Error(`sizes tp ${tp} × cp ${cp} × pp ${pp} × dp ${dp} are not the group's ${world} ranks`);
      return rank === 0 ? startCheckpoint(dir, step) : {};
    }),
    group,
  );
  await raise(first, 'checks', first[0].tmp, rank);
  const { tmp, name } = first[0] as Required<Message>;
  // round 2: every rank writes its file
  const file = rankFile(rank);
  const second = await allGatherJson<Message>(
    await attempt(async () => {
      if (!Object.keys(parts.plan).length) return { entry: { rank, file: null, tensors: {} } };
      const { lazy, tensors } = entries(parts, file);
      await writeSafetensors(join(tmp, file), lazy, { metadata: { format: 'pt', falcon: DISTRIBUTED_FORMAT } });
      killPoint(`after:${file}`, step);
      return { entry: { rank, file, digest: await digest(join(tmp, file)), tensors } };
    }),
    group,
  );
  await raise(second, 'writing the rank files', tmp, rank);
  // round 3: rank 0 writes the manifest and commits
  const third = await allGatherJson<Message>(
    await attempt(async () => {
      if (rank !== 0) return {};
      const { tp = 1, cp = 1, pp = 1 } = parts.sizes;
      const manifest: DistributedManifest = {
        format: DISTRIBUTED_FORMAT,
        step,
        sizes: { tp, cp, pp, dp: parts.sizes.dp ?? world / (tp * cp * pp) },
        world,
        config: configJson(parts.config),
        params: paramOrder(second.map((m) => m.entry!)),
        slots: [...new Set(second.flatMap((m) => Object.values(m.entry!.tensors).flatMap((t) => (t.slot ? [t.slot] : []))))].sort(),
        state: parts.state,
        ranks: second.map((m) => m.entry!).sort((a, b) => a.rank - b.rank),
      };
      checkPlans(manifestPlans(manifest));
      killPoint(`before:${LAYOUT}`, step);
      await writeDurable(join(tmp, LAYOUT), JSON.stringify(manifest, null, 1) + '\n', LAYOUT, step);
      return { dir: await commitCheckpoint(dir, name, tmp, step, LAYOUT) };
    }),
    group,
  );
  await raise(third, 'writing the manifest', tmp, rank);
  return third[0].dir!;
}

/** The parameter names in the order the ranks hold them (rank 0's first). */
function paramOrder(entries: RankEntry[]): string[] {
  return [...new Set(entries.flatMap((e) => Object.entries(e.tensors).flatMap(([k, t]) => (t.slot ? [] : [k]))))];
}

/**
 * A training run directory around its checkpoints: the lock that keeps two processes out of one
 * directory, the clean-up at start (leftovers of an interrupted save, metrics.jsonl cut back to the
 * committed step), what a directory holds (to refuse starting over it), and removal for --overwrite.
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { exportModel } from './checkpoint.js';
import { fsync, writeDurable } from './durable.js';
import { CHECKPOINT_DIR, isLeftover, LATEST, LOCK, METRICS, MODEL_FILE, readLatest } from './latest.js';

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

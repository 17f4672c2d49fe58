/**
 * What every collective shares: the group to use (default: the world), checks that run before any
 * byte moves (membership, dtype, the tensor's backend), and the description of an input that ranks
 * compare (shapes/dtypes differing between ranks are an error naming every rank's input).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { Engine } from '../engine.js';
import { CollectiveError, toCollectiveError } from '../errors.js';
import { getWorld } from '../process_group.js';
import type { ProcessGroup } from '../process_group.js';
import { workOf } from '../work.js';
import type { Work } from '../work.js';

/** The option every collective takes. */
export interface GroupOption {
  /** The group (default: the world). */
  group?: ProcessGroup;
}

/** The tfjs backend name a tensor's data lives on. @internal */
export function backendOf(x: Tensor): string | undefined {
  const e = tf.engine();
  const info = e.state.tensorInfo.get(x.dataId);
  if (!info) return undefined;
  for (const name of Object.keys(e.registry)) if (e.registry[name] === info.backend) return name;
  return undefined;
}

/** `[2,3] float32`. @internal */
export function describe(x: Tensor): string {
  return `[${x.shape.join(',')}] ${x.dtype}`;
}

/** The group and its engine, after checking x (dtype, backend, not disposed). @internal */
export function prepare(op: string, opts: GroupOption | undefined, ...xs: Tensor[]): { group: ProcessGroup; engine: Engine } {
  const group = opts?.group ?? getWorld();
  const engine = group.use(op);
  for (const x of xs) {
    const fail = (why: string): never => {
      throw new CollectiveError(`${op} on rank ${group.globalRank}: ${why}`, group.globalRank, op);
    };
    if (x.isDisposed) fail(`the input ${describe(x)} is disposed`);
    if (x.dtype !== 'float32' && x.dtype !== 'int32') fail(`the input ${describe(x)} has dtype ${x.dtype}; collectives take float32 or int32`);
    const b = backendOf(x);
    if (b !== engine.tensorBackend) {
      fail(`the input ${describe(x)} is on backend '${b ?? 'unknown'}', but group '${group.name}' (${group.backend}) needs '${engine.tensorBackend}' tensors`);
    }
  }
  return { group, engine };
}

/** A Work over an engine result, errors turned into CollectiveErrors naming this rank. @internal */
export function work<T>(group: ProcessGroup, op: string, run: () => T | Promise<T>): Work<T> {
  let p: Promise<T>;
  try {
    p = Promise.resolve(run());
  } catch (e) {
    p = Promise.reject(e);
  }
  return workOf(p.catch((e: unknown) => Promise.reject(toCollectiveError(e, group.globalRank, op))));
}

/** Runs an engine op synchronously (the differentiable forms), errors as CollectiveErrors. @internal */
export function now<T>(group: ProcessGroup, op: string, run: () => T | Promise<T>): T {
  let r: T | Promise<T>;
  try {
    r = run();
  } catch (e) {
    throw toCollectiveError(e, group.globalRank, op);
  }
  if (r instanceof Promise) throw new Error(`${op}: the engine did not run synchronously`);
  return r;
}

/** Normalises an axis (negative counts from the end). @internal */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new RangeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/**
 * `Work`: the handle every collective returns (torch's `Work`): `await work.wait()` gives the result.
 */

/** The handle of a collective in flight. */
export interface Work<T> {
  /** Resolves with the result when the collective is done; rejects with a {@link CollectiveError}. */
  wait(): Promise<T>;
  /** Whether it has finished (successfully or not). */
  isCompleted(): boolean;
}

/** A Work over a promise; a rejection nobody waits for is not reported as unhandled. @internal */
export function workOf<T>(p: Promise<T>): Work<T> {
  let done = false;
  const tracked = p.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  tracked.catch(() => undefined);
  return { wait: () => tracked, isCompleted: () => done };
}

/** A Work that is already complete (synchronous engines, NCCL's stream-ordered results). @internal */
export function doneWork<T>(v: T): Work<T> {
  return { wait: () => Promise.resolve(v), isCompleted: () => true };
}

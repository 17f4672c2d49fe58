/**
 * `Work`: the handle every collective returns (torch's `Work`): `await work.wait()` gives the result;
 * `P2PHandle`: the synchronous handle of a posted send or receive.
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

/**
 * The handle of a posted point-to-point transfer ({@link isend}, {@link irecv}): the transfer runs
 * on the backend's threads (Gloo) or stream (NCCL) while the caller goes on computing; `wait()`
 * then blocks the calling thread until it is done and gives the result, so synchronous code (the
 * autodiff tape) can overlap communication with compute. Wait every handle exactly once.
 */
export interface P2PHandle<T> {
  /** Blocks until the transfer is done; returns the result (the received tensor) or throws a {@link CollectiveError}. */
  wait(): T;
  /** Whether the transfer has finished (without blocking). */
  isCompleted(): boolean;
}

/** A handle whose result is already there (NCCL: queued on the stream in order). @internal */
export function doneHandle<T>(v: T): P2PHandle<T> {
  let waited = false;
  return {
    wait: () => {
      if (waited) throw new Error('wait: this handle was already waited');
      waited = true;
      return v;
    },
    isCompleted: () => true,
  };
}

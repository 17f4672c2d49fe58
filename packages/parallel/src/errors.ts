/**
 * The errors of process groups and collectives.
 */

/**
 * A collective (or the rendezvous) failed: a timeout, a dead or absent peer, inputs that differ
 * between ranks, a tensor on the wrong backend. `missingRank` names the rank (global numbering)
 * that is missing when that is what happened and could be determined.
 *
 * A process that gets one should exit non-zero (the launcher then stops its siblings):
 * ```ts
 * try { await allReduce(x).wait(); } catch (e) { console.error(e); process.exit(1); }
 * ```
 */
export class CollectiveError extends Error {
  /** This process's global rank. */
  readonly rank: number;
  /** The operation, e.g. `'allReduce'`, `'rendezvous'`. */
  readonly op: string;
  /** The global rank found missing (dead or never arrived), when known. */
  readonly missingRank?: number;
  constructor(message: string, rank: number, op: string, missingRank?: number) {
    super(message);
    this.name = 'CollectiveError';
    this.rank = rank;
    this.op = op;
    if (missingRank !== undefined && missingRank >= 0) this.missingRank = missingRank;
  }
}

/** Wraps an error of the native addon (fields `op`, `missingRank`) or any other error into a CollectiveError. @internal */
export function toCollectiveError(e: unknown, rank: number, op: string): CollectiveError {
  if (e instanceof CollectiveError) return e;
  const err = e as { message?: string; op?: string; missingRank?: number };
  return new CollectiveError(err?.message ?? String(e), rank, err?.op ?? op, err?.missingRank);
}

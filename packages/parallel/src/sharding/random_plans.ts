/**
 * Random layouts for testing re-sharding: for a full shape and a number of ranks, specs that
 * together hold every element, of the kinds real layouts make (column and row splits with uneven
 * ranges, several ranges per rank concatenated in any order, replicated tensors, ranges shared by
 * several ranks as replicated groups are, one rank holding the whole tensor beside split ones).
 * Exported by `@falcon/parallel/testing`.
 */
import type { Rng } from '@falcon/tensor';
import type { ShardSpec } from './shard_spec.js';

/** The kinds of layout {@link randomSpecs} draws from. */
export const RANDOM_SPEC_KINDS = ['replicated', 'split', 'interleaved', 'overlap', 'mixed'] as const;

/** `k` random cut points splitting `[0, n)` into `k` non-empty runs (needs n ≥ k). */
function cuts(rng: Rng, n: number, k: number): Array<[number, number]> {
  const points = new Set<number>();
  while (points.size < k - 1) points.add(1 + rng.int(n - 1));
  const b = [0, ...[...points].sort((x, y) => x - y), n];
  return b.slice(0, -1).map((s, i) => [s, b[i + 1]]);
}

/**
 * Specs of `ranks` ranks for one tensor, holding every element between them.
 * @param rng - the random stream
 * @param shape - the full shape (rank ≥ 1; the cut axis needs at least `2·ranks` elements for every kind)
 * @param ranks - how many ranks
 * @param kind - which kind of layout (default: drawn)
 * @returns one spec per rank
 */
export function randomSpecs(rng: Rng, shape: number[], ranks: number, kind?: (typeof RANDOM_SPEC_KINDS)[number]): ShardSpec[] {
  const k = kind ?? RANDOM_SPEC_KINDS[rng.int(RANDOM_SPEC_KINDS.length)];
  const axes = shape.map((n, i) => [n, i]).filter(([n]) => n >= 2 * ranks).map(([, i]) => i);
  const whole = (): ShardSpec => ({ shape: [...shape], axis: null, ranges: [] });
  if (k === 'replicated' || axes.length === 0) return Array.from({ length: ranks }, whole);
  const axis = axes[rng.int(axes.length)];
  const n = shape[axis];
  const spec = (ranges: Array<[number, number]>): ShardSpec => ({ shape: [...shape], axis, ranges });
  if (k === 'split') return cuts(rng, n, ranks).map((r) => spec([r]));
  if (k === 'interleaved') {
    // 2·ranks runs dealt out round-robin, each rank's in shuffled order (like in_proj's z/x/B/C/dt parts)
    const runs = cuts(rng, n, 2 * ranks);
    return Array.from({ length: ranks }, (_, r) => {
      const mine = runs.filter((_, i) => i % ranks === r);
      if (rng.int(2)) mine.reverse();
      return spec(mine);
    });
  }
  if (k === 'overlap') {
    // a split of the first part plus one shared run every rank holds (replicated groups)
    const shared = 1 + rng.int(Math.max(1, n - ranks));
    const split = cuts(rng, n - shared, ranks);
    return split.map((r) => spec([r, [n - shared, n]]));
  }
  // mixed: rank 0 holds the whole tensor, the others a split with overlaps between neighbours
  const parts = cuts(rng, n, ranks - 1 || 1);
  return [whole(), ...Array.from({ length: ranks - 1 }, (_, i) => spec([[parts[i][0], Math.min(n, parts[i][1] + (i < ranks - 2 ? 1 : 0))]]))];
}

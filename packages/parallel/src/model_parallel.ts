/**
 * Megatron's model-parallel groups: {@link rankLayout} (pure: which global ranks form each TP, CP,
 * DP and PP group and their combinations) and {@link initializeModelParallel} (creates the groups
 * this process belongs to).
 *
 * The rank order is Megatron's `RankGenerator` order `tp-cp-ep-dp-pp` (expert parallelism is 1
 * here): tensor-parallel rank varies fastest, then context-parallel, then data-parallel, then
 * pipeline stage —
 * `rank = tp + TP·(cp + CP·(dp + DP·pp))`. See the package README for a picture of 16 ranks.
 */
import { newGroups, worldState } from './process_group.js';
import type { NewGroupOptions, ProcessGroup } from './process_group.js';

/** Sizes of the parallel dimensions (each ≥ 1; `dp` defaults to world / (tp·cp·pp)). */
export interface ModelParallelSizes {
  /** Tensor-parallel size. */
  tp?: number;
  /** Pipeline-parallel size. */
  pp?: number;
  /** Context-parallel size. */
  cp?: number;
  /** Data-parallel size. */
  dp?: number;
}

/** A rank's coordinates in the layout. */
export interface ModelParallelCoords {
  tp: number;
  cp: number;
  dp: number;
  pp: number;
}

/** The group lists of every kind (global ranks, ascending). */
export interface RankLayout {
  sizes: Required<ModelParallelSizes>;
  tp: number[][];
  cp: number[][];
  dp: number[][];
  pp: number[][];
  /** Tensor and context parallel together (Megatron's `tp-cp`). */
  tpCp: number[][];
  /** Data and context parallel together (`dp-cp`: the gradient all-reduce group under CP). */
  dpCp: number[][];
  /** The model-parallel group (`tp-pp`). */
  mp: number[][];
  /** Everything but pipeline (`tp-cp-dp`). */
  tpCpDp: number[][];
}

/** The groups of this process (from {@link initializeModelParallel}). */
export interface ModelParallelGroups {
  sizes: Required<ModelParallelSizes>;
  /** This rank's coordinates. */
  coords: ModelParallelCoords;
  tp: ProcessGroup;
  cp: ProcessGroup;
  dp: ProcessGroup;
  pp: ProcessGroup;
  tpCp: ProcessGroup;
  dpCp: ProcessGroup;
  mp: ProcessGroup;
  tpCpDp: ProcessGroup;
  /** Every group list of the layout. */
  layout: RankLayout;
}

const ORDER = ['tp', 'cp', 'dp', 'pp'] as const;
type Dim = (typeof ORDER)[number];

/** The coordinates of a global rank. */
export function rankCoords(rank: number, sizes: Required<ModelParallelSizes>): ModelParallelCoords {
  let r = rank;
  const c = {} as ModelParallelCoords;
  for (const d of ORDER) {
    c[d] = r % sizes[d];
    r = Math.floor(r / sizes[d]);
  }
  return c;
}

/** The global rank at the given coordinates. */
export function rankAt(c: ModelParallelCoords, sizes: Required<ModelParallelSizes>): number {
  let r = 0;
  for (const d of [...ORDER].reverse()) r = r * sizes[d] + c[d];
  return r;
}

/** Groups of ranks varying only in `dims` (every other coordinate fixed), each ascending, ordered by their first rank. */
function groupsOver(dims: Dim[], sizes: Required<ModelParallelSizes>, world: number): number[][] {
  const byKey = new Map<string, number[]>();
  for (let r = 0; r < world; r++) {
    const c = rankCoords(r, sizes);
    const key = ORDER.filter((d) => !dims.includes(d))
      .map((d) => c[d])
      .join(',');
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(r);
  }
  return [...byKey.values()].sort((a, b) => a[0] - b[0]);
}

/**
 * The group lists of Megatron's layout for `world` ranks.
 *
 * @param sizes - tp, pp, cp (default 1) and dp (default world / (tp·cp·pp))
 * @param world - the world size
 * @throws RangeError when the sizes do not multiply to the world size
 */
export function rankLayout(sizes: ModelParallelSizes, world: number): RankLayout {
  const tp = sizes.tp ?? 1;
  const pp = sizes.pp ?? 1;
  const cp = sizes.cp ?? 1;
  for (const [k, v] of Object.entries({ tp, pp, cp })) if (!Number.isInteger(v) || v < 1) throw new RangeError(`initializeModelParallel: ${k} must be a positive integer, got ${v}`);
  const dp = sizes.dp ?? world / (tp * cp * pp);
  if (!Number.isInteger(dp) || dp < 1 || tp * cp * dp * pp !== world) {
    throw new RangeError(`initializeModelParallel: tp (${tp}) × cp (${cp}) × dp (${sizes.dp ?? '?'}) × pp (${pp}) must equal the world size ${world}`);
  }
  const s = { tp, cp, dp, pp };
  return {
    sizes: s,
    tp: groupsOver(['tp'], s, world),
    cp: groupsOver(['cp'], s, world),
    dp: groupsOver(['dp'], s, world),
    pp: groupsOver(['pp'], s, world),
    tpCp: groupsOver(['tp', 'cp'], s, world),
    dpCp: groupsOver(['cp', 'dp'], s, world),
    mp: groupsOver(['tp', 'pp'], s, world),
    tpCpDp: groupsOver(['tp', 'cp', 'dp'], s, world),
  };
}

/**
 * Creates the TP, CP, DP and PP groups and their combinations with Megatron's rank order.
 * Collective over the world: every rank calls it with the same sizes.
 *
 * @param sizes - tp, pp, cp (default 1), dp (default: the rest of the world)
 * @param opts - backend and timeout of the groups (default: the world's)
 * @returns this process's groups and coordinates, and the whole layout
 */
export async function initializeModelParallel(sizes: ModelParallelSizes, opts: NewGroupOptions = {}): Promise<ModelParallelGroups> {
  const w = worldState();
  const layout = rankLayout(sizes, w.group.size);
  const me = w.group.globalRank;
  const kinds = ['tp', 'cp', 'dp', 'pp', 'tpCp', 'dpCp', 'mp', 'tpCpDp'] as const;
  const out = { sizes: layout.sizes, coords: rankCoords(me, layout.sizes), layout } as ModelParallelGroups;
  for (const k of kinds) {
    // Only this process's group of each kind is connected; the others are recorded as non-member groups.
    const groups = await newGroups(layout[k], `mp-${k}-`, opts);
    out[k] = groups.find((g) => g.isMember)!;
  }
  return out;
}

/**
 * The re-sharding planner (pure): for one rank's target {@link ShardSpec} of a tensor and the
 * specs under which other ranks hold (or stored) pieces of it, which boxes to copy from which
 * source into the target's local tensor. Source and target may cut different axes, with uneven or
 * several ranges; where sources overlap (replicated pieces) each element is taken from the first
 * source in preference order, so every element of the target is written exactly once.
 *
 * Boxes are in local coordinates (of the source's local tensor and of the target's), one entry per
 * dimension of the full tensor. With `encoding: 'ternary2'` the coordinates are those of the
 * unpacked matrix (see {@link ShardSpec}): the executor decodes, copies and re-packs.
 */
import type { ShardSpec } from './shard_spec.js';
import { checkShardSpec, localShape } from './shard_spec.js';

/** A piece of a tensor held by one source (a rank, or a rank's file). */
export interface SourceShard {
  /** The source's index (e.g. its rank), echoed in {@link ReshardPiece.source}. */
  source: number;
  /** How the source's local tensor is cut from the full one. */
  spec: ShardSpec;
}

/** One box copied from a source's local tensor into the target's local tensor. */
export interface ReshardPiece {
  /** {@link SourceShard.source} of the source it comes from. */
  source: number;
  /** Start of the box in the source's local tensor, one entry per dimension. */
  from: number[];
  /** Start of the box in the target's local tensor. */
  to: number[];
  /** Extent of the box, one entry per dimension. */
  size: number[];
}

/** Options of {@link planReshard}. */
export interface PlanReshardOptions {
  /** Take overlapping elements from this source first (e.g. the loading rank's own file). */
  prefer?: number;
}

/** A run of local indices `[local, local + len)` holding full indices `[full, full + len)` along one dimension. */
interface Segment {
  local: number;
  full: number;
  len: number;
}

/** The segments of a spec along dimension `d`. */
function segments(spec: ShardSpec, d: number): Segment[] {
  if (spec.axis !== d) return [{ local: 0, full: 0, len: spec.shape[d] }];
  const out: Segment[] = [];
  let local = 0;
  for (const [s, e] of spec.ranges) {
    out.push({ local, full: s, len: e - s });
    local += e - s;
  }
  return out;
}

/** Where target-local `[to, to + len)` along one dimension lies in a source's local tensor (`from`). */
interface Span {
  to: number;
  from: number;
  len: number;
}

/** The target-local spans along dimension `d` that a source holds. */
function spans(target: ShardSpec, source: ShardSpec, d: number): Span[] {
  const out: Span[] = [];
  for (const t of segments(target, d)) {
    for (const s of segments(source, d)) {
      const lo = Math.max(t.full, s.full);
      const hi = Math.min(t.full + t.len, s.full + s.len);
      if (hi > lo) out.push({ to: t.local + lo - t.full, from: s.local + lo - s.full, len: hi - lo });
    }
  }
  return out;
}

/** The full-tensor index of target-local index `i` along dimension `d` (for error messages). */
function fullIndex(target: ShardSpec, d: number, i: number): number {
  const seg = segments(target, d).find((s) => i >= s.local && i < s.local + s.len)!;
  return seg.full + i - seg.local;
}

/** Merge pieces that are adjacent along dimension `d` in both the target and the source. */
function mergeAlong(pieces: ReshardPiece[], d: number): ReshardPiece[] {
  const key = (p: ReshardPiece) => `${p.source}|${p.to.map((v, i) => (i === d ? '' : `${v}:${p.from[i]}:${p.size[i]}`)).join(',')}`;
  const groups = new Map<string, ReshardPiece[]>();
  for (const p of pieces) {
    const k = key(p);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(p);
  }
  const out: ReshardPiece[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => a.to[d] - b.to[d]);
    let cur = g[0];
    for (const p of g.slice(1)) {
      if (p.to[d] === cur.to[d] + cur.size[d] && p.from[d] === cur.from[d] + cur.size[d]) {
        cur = { ...cur, size: cur.size.map((v, i) => (i === d ? v + p.size[d] : v)) };
      } else {
        out.push(cur);
        cur = p;
      }
    }
    out.push(cur);
  }
  return out;
}

/**
 * Plan how to fill a target's local tensor from sources.
 *
 * @param name - the tensor's name (for error messages)
 * @param target - the target's spec; its local tensor has shape {@link localShape}(target)
 * @param sources - the pieces available (their full shape must be the target's)
 * @param options - `prefer`: a source to read overlapping elements from first
 * @returns non-overlapping boxes that together cover the target's local tensor exactly once,
 *   ordered by source then by position in the target
 * @throws Error naming the tensor when a spec is invalid, a full shape differs, or part of the
 *   target is held by no source (with that part in full-tensor coordinates)
 */
export function planReshard(name: string, target: ShardSpec, sources: readonly SourceShard[], options: PlanReshardOptions = {}): ReshardPiece[] {
  checkShardSpec(name, target);
  for (const s of sources) {
    checkShardSpec(`${name} (source ${s.source})`, s.spec);
    if (s.spec.shape.length !== target.shape.length || s.spec.shape.some((v, i) => v !== target.shape[i])) {
      throw new Error(`re-sharding ${name}: source ${s.source} holds a tensor of full shape [${s.spec.shape}], the target's is [${target.shape}]`);
    }
  }
  const rank = target.shape.length;
  const shape = localShape(target);
  if (shape.some((v) => v === 0)) return [];
  const order = [...sources].sort((a, b) => Number(b.source === options.prefer) - Number(a.source === options.prefer));
  // per source and dimension, the target-local spans it holds; along every dimension the cell
  // boundaries are all spans' endpoints, so each cell lies wholly inside or outside every span
  const held = order.map((s) => Array.from({ length: rank }, (_, d) => spans(target, s.spec, d)));
  const bounds = Array.from({ length: rank }, (_, d) => {
    const b = new Set([0, shape[d]]);
    for (const h of held) for (const sp of h[d]) b.add(sp.to).add(sp.to + sp.len);
    return [...b].sort((x, y) => x - y);
  });
  const pieces: ReshardPiece[] = [];
  const cell = new Array<number>(rank).fill(0);
  const visit = (d: number) => {
    if (d < rank) {
      for (cell[d] = 0; cell[d] < bounds[d].length - 1; cell[d]++) visit(d + 1);
      return;
    }
    const lo = cell.map((c, i) => bounds[i][c]);
    const hi = cell.map((c, i) => bounds[i][c + 1]);
    for (let k = 0; k < order.length; k++) {
      const inside = held[k].map((sp, i) => sp.find((s) => lo[i] >= s.to && hi[i] <= s.to + s.len));
      if (inside.every(Boolean)) {
        pieces.push({ source: order[k].source, from: lo.map((v, i) => inside[i]!.from + v - inside[i]!.to), to: lo, size: hi.map((v, i) => v - lo[i]) });
        return;
      }
    }
    const box = lo.map((v, i) => (i === target.axis ? `${fullIndex(target, i, v)}:${fullIndex(target, i, hi[i] - 1) + 1}` : `${v}:${hi[i]}`));
    throw new Error(`re-sharding ${name}: no source holds elements [${box.join(', ')}] of the full tensor [${target.shape}] (sources: ${sources.map((s) => s.source).join(', ') || 'none'})`);
  };
  visit(0);
  let merged = pieces;
  for (let d = rank - 1; d >= 0; d--) merged = mergeAlong(merged, d);
  const rankOf = new Map(order.map((s, i) => [s.source, i]));
  return merged.sort((a, b) => rankOf.get(a.source)! - rankOf.get(b.source)! || a.to.reduce((acc, v, i) => acc || v - b.to[i], 0));
}

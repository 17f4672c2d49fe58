/**
 * The Falcon-H1 tensor-parallel layout: which heads, groups, rows and columns each of the t ranks
 * holds, as a {@link ShardPlan} per rank (Hugging Face names) plus the rule of which gradients are
 * summed over the TP group.
 *
 * Per layer, rank r holds a contiguous range of attention (query) heads and of Mamba-2 heads (the
 * counts come from a {@link HeadSplit}: even when they divide, else the naive or the routed split):
 * - attention: the KV heads its query heads use (a KV head whose query heads span ranks is
 *   replicated on each of them); q/k/v rows and o_proj columns of those heads;
 * - Mamba-2: the groups its heads use (a group whose heads span ranks is replicated), in_proj's
 *   z, x, B, C, dt rows (five ranges), conv1d's x, B, C channels, dt_bias/A_log/D and the gated
 *   norm's weight of its heads, out_proj's columns of its heads;
 * - MLP: a contiguous range of the intermediate features (gate/up rows, down columns);
 * - embeddings and lm_head: a contiguous range of the vocabulary; norms and row-parallel biases replicated.
 *
 * Gradient rule ({@link TensorParallelLayout.reduceOverTp}): a parameter whose pieces on different
 * ranks each saw only part of the computation has its gradient summed over the TP group (placed in
 * the full tensor, all-reduced, cut again): replicated KV heads (k/v_proj), replicated groups
 * (in_proj, conv1d), and under sequence parallelism the norms and the biases added after a
 * reduce-scatter. Every other parameter's local gradient is already complete.
 */
import type { ShardPlan, ShardSpec } from '@falcon/parallel';
import { replicated } from '@falcon/parallel';
import { falconH1Dims } from '@falcon/checkpoint';
import type { HybridConfig } from '../../config.js';
import { layerDims } from '../../config.js';

/** Head counts per rank of one layer. */
export interface HeadSplit {
  /** Attention (query) heads of each rank, summing to the layer's H. */
  attention: number[];
  /** Mamba-2 heads of each rank, summing to the layer's h. */
  mamba: number[];
}

/** A contiguous run of local heads sharing one KV head (attention) or one group (Mamba-2). */
export interface HeadSegment {
  /** Local head range `[start, end)`. */
  heads: [number, number];
  /** Local index of the shared KV head / group. */
  shared: number;
}

/** One rank's view of a head-sharded block of one layer. */
export interface BlockLayout {
  /** Global heads `[start, end)` of this rank (may be empty). */
  heads: [number, number];
  /** Global KV heads / groups `[start, end)` this rank holds (empty when heads is). */
  shared: [number, number];
  /** Runs of local heads per shared KV head / group. */
  segments: HeadSegment[];
  /** Whether every local shared item serves the same number of local heads (one kernel call). */
  uniform: boolean;
  /** 1 when this rank counts the local shared item (its lowest holder), else 0 — for whole-tensor statistics. */
  counted: number[];
  /** Whether any KV head / group of the layer is held by more than one rank (on any rank). */
  split: boolean;
  /** Total heads and shared items of the layer. */
  total: { heads: number; shared: number };
}

/** One rank's layout of one layer. */
export interface LayerLayout {
  /** Attention heads (absent when the layer has none). */
  attention?: BlockLayout;
  /** Mamba-2 heads (absent when the layer has none). */
  mamba?: BlockLayout;
  /** Intermediate features `[start, end)` of the MLP. */
  ffn: [number, number];
}

/** Even split of n over t ranks (the first n mod t ranks get one more). */
export function evenSplit(n: number, t: number): number[] {
  return Array.from({ length: t }, (_, r) => Math.floor(n / t) + (r < n % t ? 1 : 0));
}

function rangeOf(counts: number[], r: number): [number, number] {
  const s = counts.slice(0, r).reduce((a, b) => a + b, 0);
  return [s, s + counts[r]];
}

/**
 * The block layout of rank r.
 * @param counts - heads per rank
 * @param perShared - heads per KV head / group
 */
export function blockLayout(counts: number[], perShared: number, r: number): BlockLayout {
  const total = counts.reduce((a, b) => a + b, 0);
  const sharedOf = (counts_: number[], q: number): [number, number] => {
    const [h0, h1] = rangeOf(counts_, q);
    return h1 > h0 ? [Math.floor(h0 / perShared), Math.floor((h1 - 1) / perShared) + 1] : [0, 0];
  };
  const heads = rangeOf(counts, r);
  const shared = sharedOf(counts, r);
  const segments: HeadSegment[] = [];
  for (let j = shared[0]; j < shared[1]; j++) {
    const s = Math.max(heads[0], j * perShared) - heads[0];
    const e = Math.min(heads[1], (j + 1) * perShared) - heads[0];
    segments.push({ heads: [s, e], shared: j - shared[0] });
  }
  const holders = new Map<number, number[]>();
  counts.forEach((_, q) => {
    const [a, b] = sharedOf(counts, q);
    for (let j = a; j < b; j++) holders.set(j, [...(holders.get(j) ?? []), q]);
  });
  const counted = segments.map((_, k) => (holders.get(shared[0] + k)![0] === r ? 1 : 0));
  const split = [...holders.values()].some((h) => h.length > 1);
  const uniform = segments.every((s) => s.heads[1] - s.heads[0] === segments[0].heads[1] - segments[0].heads[0]);
  return { heads, shared, segments, uniform, counted, split, total: { heads: total, shared: total / perShared } };
}

/** Everything one rank needs: its plan, its layers' layouts and the gradient rule. */
export interface TensorParallelLayout {
  /** TP size t. */
  size: number;
  /** This rank's index in the TP group. */
  rank: number;
  /** Sequence parallelism. */
  sequenceParallel: boolean;
  /** The head split of every layer. */
  splits: HeadSplit[];
  /** This rank's view of every layer. */
  layers: LayerLayout[];
  /** Vocabulary rows `[start, end)` of this rank (embeddings and lm_head). */
  vocab: [number, number];
  /** How this rank's tensor of every parameter it holds is cut from the full one (HF names). */
  plan: ShardPlan;
  /** The full shape of every parameter of the model (HF names), held here or not. */
  shapes: Record<string, number[]>;
  /**
   * Parameters whose gradients are summed over the TP group (the same list, in the same order, on
   * every rank; a rank that does not hold one takes part with zeros).
   */
  reduceOverTp: string[];
}

/** Options of {@link tensorParallelLayout}. */
export interface TensorParallelLayoutOptions {
  /** TP size t. */
  size: number;
  /** This rank's index in the TP group. */
  rank: number;
  /** Sequence parallelism (default false). */
  sequenceParallel?: boolean;
  /** Head counts per rank of every layer (default: {@link evenSplit} of each; see `routeHeads` for a balanced one). */
  splits?: HeadSplit[];
}

const axis0 = (shape: number[], ranges: Array<[number, number]>): ShardSpec => ({ shape, axis: 0, ranges: ranges.filter(([s, e]) => e > s) });
const axis1 = (shape: number[], ranges: Array<[number, number]>): ShardSpec => ({ shape, axis: 1, ranges: ranges.filter(([s, e]) => e > s) });
const scale = ([s, e]: [number, number], k: number, off = 0): [number, number] => [off + s * k, off + e * k];

/**
 * The layout of one TP rank.
 * @param config - the model config
 * @throws when a split does not match the layer's head counts, or the MLP width / vocabulary is smaller than t
 */
export function tensorParallelLayout(config: HybridConfig, opts: TensorParallelLayoutOptions): TensorParallelLayout {
  const { size: t, rank } = opts;
  const sp = opts.sequenceParallel ?? false;
  const b = config.base;
  if (!Number.isInteger(t) || t < 1 || !Number.isInteger(rank) || rank < 0 || rank >= t) throw new Error(`tensorParallelLayout: rank ${rank} of TP size ${t} is not valid`);
  if (b.intermediate_size < t) throw new Error(`tensorParallelLayout: intermediate_size ${b.intermediate_size} is smaller than the TP size ${t}`);
  if (b.vocab_size < t) throw new Error(`tensorParallelLayout: vocab_size ${b.vocab_size} is smaller than the TP size ${t}`);
  const splits = opts.splits ?? config.layers.map((l) => ({ attention: evenSplit(l.attentionHeads, t), mamba: evenSplit(l.mambaHeads, t) }));
  if (splits.length !== config.layers.length) throw new Error(`tensorParallelLayout: ${splits.length} head splits for ${config.layers.length} layers`);
  splits.forEach((s, i) => {
    const l = config.layers[i];
    for (const [k, n] of [['attention', l.attentionHeads], ['mamba', l.mambaHeads]] as const) {
      const c = s[k];
      // every rank holds at least one head of each kind the layer has: the backward's collectives
      // (the gated norm's all-reduce) then run on every rank in the same order
      if (c.length !== t || c.some((x) => !Number.isInteger(x) || x < (n > 0 ? 1 : 0)) || c.reduce((a, x) => a + x, 0) !== n) {
        throw new Error(`tensorParallelLayout: layer ${i}: the ${k} split [${c}] must be ${t} counts of at least ${n > 0 ? 1 : 0} summing to ${n} (TP size ${t} needs at least ${t} heads of each kind a layer has)`);
      }
    }
  });
  const dims = falconH1Dims(b);
  const d = b.hidden_size;
  const hd = dims.head_dim;
  const p = b.mamba_d_head;
  const n = b.mamba_d_state;
  const g = b.mamba_n_groups;
  const k = b.mamba_d_conv;
  const f = b.intermediate_size;
  const V = b.vocab_size;
  const plan: ShardPlan = {};
  const shapes: Record<string, number[]> = {};
  const reduce: string[] = [];
  const put = (name: string, full: number[], spec: ShardSpec | null, reduceGrad: boolean): void => {
    shapes[name] = full;
    if (spec && (spec.axis === null || spec.ranges.length > 0)) plan[name] = spec;
    if (reduceGrad) reduce.push(name);
  };
  const vocab = rangeOf(evenSplit(V, t), rank);
  put('model.embed_tokens.weight', [V, d], axis0([V, d], [vocab]), false);
  const layers: LayerLayout[] = config.layers.map((heads, i) => {
    const pre = `model.layers.${i}.`;
    const { attnWidth, dSsm } = layerDims(config, i);
    const ffn = rangeOf(evenSplit(f, t), rank);
    const out: LayerLayout = { ffn };
    put(`${pre}input_layernorm.weight`, [d], replicated([d]), sp);
    put(`${pre}pre_ff_layernorm.weight`, [d], replicated([d]), sp);
    if (heads.attentionHeads > 0) {
      const a = blockLayout(splits[i].attention, heads.attentionHeads / heads.kvHeads, rank);
      out.attention = a;
      const kvw = heads.kvHeads * hd;
      put(`${pre}self_attn.q_proj.weight`, [attnWidth, d], axis0([attnWidth, d], [scale(a.heads, hd)]), false);
      for (const nm of ['k_proj', 'v_proj']) put(`${pre}self_attn.${nm}.weight`, [kvw, d], axis0([kvw, d], [scale(a.shared, hd)]), a.split);
      put(`${pre}self_attn.o_proj.weight`, [d, attnWidth], axis1([d, attnWidth], [scale(a.heads, hd)]), false);
      if (b.attention_bias) {
        put(`${pre}self_attn.q_proj.bias`, [attnWidth], axis0([attnWidth], [scale(a.heads, hd)]), false);
        for (const nm of ['k_proj', 'v_proj']) put(`${pre}self_attn.${nm}.bias`, [kvw], axis0([kvw], [scale(a.shared, hd)]), a.split);
        put(`${pre}self_attn.o_proj.bias`, [d], replicated([d]), sp);
      }
    }
    if (heads.mambaHeads > 0) {
      const h = heads.mambaHeads;
      const m = blockLayout(splits[i].mamba, h / g, rank);
      out.mamba = m;
      const convDim = dSsm + 2 * g * n;
      const proj = dSsm + convDim + h;
      const inRows: Array<[number, number]> = [scale(m.heads, p), scale(m.heads, p, dSsm), scale(m.shared, n, 2 * dSsm), scale(m.shared, n, 2 * dSsm + g * n), scale(m.heads, 1, 2 * dSsm + 2 * g * n)];
      const convRows: Array<[number, number]> = [scale(m.heads, p), scale(m.shared, n, dSsm), scale(m.shared, n, dSsm + g * n)];
      put(`${pre}mamba.in_proj.weight`, [proj, d], axis0([proj, d], inRows), m.split);
      if (b.mamba_proj_bias) put(`${pre}mamba.in_proj.bias`, [proj], axis0([proj], inRows), m.split);
      put(`${pre}mamba.conv1d.weight`, [convDim, 1, k], axis0([convDim, 1, k], convRows), m.split);
      if (b.mamba_conv_bias) put(`${pre}mamba.conv1d.bias`, [convDim], axis0([convDim], convRows), m.split);
      for (const nm of ['dt_bias', 'A_log', 'D']) put(`${pre}mamba.${nm}`, [h], axis0([h], [m.heads]), false);
      if (b.mamba_rms_norm) put(`${pre}mamba.norm.weight`, [dSsm], axis0([dSsm], [scale(m.heads, p)]), false);
      put(`${pre}mamba.out_proj.weight`, [d, dSsm], axis1([d, dSsm], [scale(m.heads, p)]), false);
      if (b.projectors_bias) put(`${pre}mamba.out_proj.bias`, [d], replicated([d]), sp);
    }
    put(`${pre}feed_forward.gate_proj.weight`, [f, d], axis0([f, d], [ffn]), false);
    put(`${pre}feed_forward.up_proj.weight`, [f, d], axis0([f, d], [ffn]), false);
    put(`${pre}feed_forward.down_proj.weight`, [d, f], axis1([d, f], [ffn]), false);
    if (b.mlp_bias) {
      put(`${pre}feed_forward.gate_proj.bias`, [f], axis0([f], [ffn]), false);
      put(`${pre}feed_forward.up_proj.bias`, [f], axis0([f], [ffn]), false);
      put(`${pre}feed_forward.down_proj.bias`, [d], replicated([d]), sp);
    }
    return out;
  });
  put('model.final_layernorm.weight', [d], replicated([d]), sp);
  if (!b.tie_word_embeddings) put('lm_head.weight', [V, d], axis0([V, d], [vocab]), false);
  return { size: t, rank, sequenceParallel: sp, splits, layers, vocab, plan, shapes, reduceOverTp: reduce };
}

// The composed layouts the tests run (world 4 each) and their configs (the tensor-parallel tests'
// tiny configs: n_groups 1 with a gated norm and one KV head, n_groups 2 with every bias and an
// untied head; BitNet layers on in some), shared by the worker processes and the tests.
import { TokenBatches } from '../../src/index.js';
import type { ContextParallelMambaMode, HeadSplit, HybridConfig, TrainOptions } from '../../src/index.js';
import { groups1, groups2 } from '../tp/cases.js';

/** One case of a layout: a config, SP on/off, the microbatches. */
export interface MpCase {
  name: string;
  config: 'groups1' | 'groups2';
  bitnet: boolean;
  sp: boolean;
  microbatches: number;
  /** Recomputation in the backward: the whole layer, or the mixers (selective). */
  recompute?: 'layer' | 'attention' | 'mamba' | 'both';
  /** A padded batch ({@link PADDING}): the padding masked, its labels ignored. */
  pad?: boolean;
  /** Head counts per TP rank of every layer (default even). */
  splits?: HeadSplit[];
  /** The Mamba-2 mode under CP (default state passing). */
  mode?: ContextParallelMambaMode;
}

/**
 * A routed-style split of the n_groups 2 config on t = 2 (6 Mamba-2 heads, 3 per group): layer 0's
 * rank 1 holds heads 2–5 (1 head of group 0, 3 of group 1), layer 1's rank 0 heads 0–3 (3 of
 * group 0, 1 of group 1), so a rank's heads span its groups unevenly; under the all-to-all mode
 * with c = 2 one CP rank's heads then read groups 0 and 1, the other's group 1 only. The attention
 * heads are uneven too (a KV head's query heads on both ranks).
 */
const ROUTED2: HeadSplit[] = [
  { attention: [2, 4], mamba: [2, 4] },
  { attention: [4, 2], mamba: [4, 2] },
];

/** A layout and the cases one launch of the workers runs under it. */
export interface MpLayout {
  sizes: { tp: number; cp: number; pp: number; dp: number };
  cases: MpCase[];
}

export const LAYOUTS: Record<string, MpLayout> = {
  'TP2×PP2': { sizes: { tp: 2, cp: 1, pp: 2, dp: 1 }, cases: [
    { name: 'n_groups 1, layer recomputation', config: 'groups1', bitnet: false, sp: false, microbatches: 2, recompute: 'layer' },
    { name: 'n_groups 2, BitNet, SP', config: 'groups2', bitnet: true, sp: true, microbatches: 4 },
    { name: 'n_groups 1, BitNet, SP, both mixers recomputed', config: 'groups1', bitnet: true, sp: true, microbatches: 2, recompute: 'both' },
  ] },
  'TP2×CP2': { sizes: { tp: 2, cp: 2, pp: 1, dp: 1 }, cases: [
    { name: 'n_groups 1, SP', config: 'groups1', bitnet: false, sp: true, microbatches: 1 },
    { name: 'n_groups 2, BitNet, layer recomputation', config: 'groups2', bitnet: true, sp: false, microbatches: 2, recompute: 'layer' },
    { name: 'n_groups 1, attention recomputed', config: 'groups1', bitnet: false, sp: false, microbatches: 1, recompute: 'attention' },
    { name: 'n_groups 2, left and right padding, SP', config: 'groups2', bitnet: false, sp: true, microbatches: 2, pad: true },
    { name: 'n_groups 2, routed split uneven over groups, state passing, SP', config: 'groups2', bitnet: false, sp: true, microbatches: 1, splits: ROUTED2 },
    { name: 'n_groups 2, routed split uneven over groups, all-to-all, left and right padding', config: 'groups2', bitnet: false, sp: false, microbatches: 1, splits: ROUTED2, mode: 'all-to-all', pad: true },
  ] },
  'DP2×TP2': { sizes: { tp: 2, cp: 1, pp: 1, dp: 2 }, cases: [
    { name: 'n_groups 1, BitNet', config: 'groups1', bitnet: true, sp: false, microbatches: 1 },
    { name: 'n_groups 2, SP', config: 'groups2', bitnet: false, sp: true, microbatches: 2 },
  ] },
  'CP2×PP2': { sizes: { tp: 1, cp: 2, pp: 2, dp: 1 }, cases: [
    { name: 'n_groups 1, BitNet', config: 'groups1', bitnet: true, sp: false, microbatches: 2 },
    { name: 'n_groups 2', config: 'groups2', bitnet: false, sp: false, microbatches: 4 },
    { name: 'n_groups 2, Mamba-2 recomputed', config: 'groups2', bitnet: false, sp: false, microbatches: 2, recompute: 'mamba' },
    { name: 'n_groups 1, BitNet, left and right padding', config: 'groups1', bitnet: true, sp: false, microbatches: 2, pad: true },
  ] },
};

/** The config of a case. */
export function configOf(c: Pick<MpCase, 'config' | 'bitnet'>): HybridConfig {
  return c.config === 'groups1' ? groups1(c.bitnet) : groups2(c.bitnet, true);
}

/** The model seed. */
export const SEED = 11;
/** Global batch and sequence length (16: 2·cp chunks of 4 ≥ d_conv − 1 tokens; SP splits 8 in 2). */
export const BATCH = 4;
export const SEQLEN = 16;

/** The ids of the gradient cases: int32 `[BATCH, SEQLEN]`. */
export function ids(vocab: number): number[] {
  return Array.from({ length: BATCH * SEQLEN }, (_, i) => (i * 7 + 3 + Math.floor(i / 5)) % vocab);
}

/**
 * Padding of the padded cases, per row of the global batch: leading (left) padding, or
 * `{ right: n }` trailing; row 0's 6 cover a whole CP chunk of 4 and part of the next. Rows 0–1
 * and 2–3 have 25 labelled tokens each, so that two microbatches' mean losses average to the
 * one-rank mean (the pipeline's loss is the mean of its microbatches').
 */
export const PADDING: (number | { right: number })[] = [6, 0, { right: 5 }, 1];

/** The padding mask of the padded cases `[BATCH, SEQLEN]` (1 real / 0 padding). */
export function paddingMask(): number[] {
  return PADDING.flatMap((p) => Array.from({ length: SEQLEN }, (_, t) => ((typeof p === 'number' ? t >= p : t < SEQLEN - p.right) ? 1 : 0)));
}

/** The training runs' stream and batches (4 rows of 16). */
export const TOKENS = Int32Array.from({ length: 800 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3));
export const batches = () => new TokenBatches(TOKENS, BATCH, SEQLEN, 5);
/** 20 steps with clipping active and weight decay. */
export const TRAIN: TrainOptions = { steps: 20, lr: 1e-2, warmupSteps: 2, clip: 0.5 };

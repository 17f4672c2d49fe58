/**
 * BitNet b1.58 products of sharded weights that equal the unsplit layer's: the weight is quantised
 * with mean |W| of the WHOLE matrix (all-reduced over the TP group, replicated rows counted once)
 * and, for a row-parallel layer, each token's activations with max |x| over ALL its features
 * (all-reduced max). A column-parallel layer's input rows are whole, so its activation scale is local.
 */
import { activationQuant, weightQuant } from '@falcon/bitnet';
import { shardedAbsMax, shardedMeanAbs } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * mean |W| of a sharded weight (every rank of the group calls it, a rank without a piece with undefined).
 * @param w - this rank's piece `[rows, ...]` or undefined
 * @param count - element count of the whole weight
 * @param counted - 1/0 per row of the piece: rows replicated on several ranks count on one only
 * @returns `[1]`
 */
export function weightMeanAbs(group: ProcessGroup, w: Tensor | undefined, count: number, counted?: number[]): Tensor {
  return tf.tidy(() => shardedMeanAbs(w, { group, count, counted: counted && w ? tf.tensor1d(counted) : undefined }));
}

/**
 * `quant8(x) @ ternary(w)ᵀ` with given scales.
 * @param x - `[tokens, in_local]`
 * @param w - `[out_local, in_local]`
 * @param meanAbs - `[1]`, mean |W| of the whole weight
 * @param absMax - `[tokens, 1]`, max |x| over the whole row (row-parallel); default local (column-parallel)
 * @returns `[tokens, out_local]`
 */
export function shardedBitMatMul(x: Tensor, w: Tensor, meanAbs: Tensor, absMax?: Tensor): Tensor {
  return tf.tidy(() => tf.matMul(activationQuant(x, absMax ? { absMax } : {}).y, weightQuant(w, { meanAbs }).y, false, true));
}

/** max |x| per token over every rank's features (`[tokens, 1]`). @param x - `[tokens, in_local]` */
export function rowAbsMax(group: ProcessGroup, x: Tensor): Tensor {
  return shardedAbsMax(x, { group });
}

/**
 * Rows counted for mean |W| from per-item flags: each of the `ranges` (local rows of a part of the
 * weight, in order) belongs to one item per `rowsPerItem` rows; items flagged 0 are not counted.
 * @param parts - `[rows, perItemFlags | null]` per part of the local rows (null: every row counted)
 * @returns 1/0 per local row
 */
export function countedRows(parts: Array<[number, number[] | null, number]>): number[] {
  const out: number[] = [];
  for (const [rows, flags, per] of parts) {
    for (let i = 0; i < rows; i++) out.push(flags ? flags[Math.floor(i / per)] : 1);
  }
  return out;
}

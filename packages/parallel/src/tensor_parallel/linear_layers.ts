/**
 * `ColumnParallelLinear` and `RowParallelLinear` (Megatron's layers): a linear map `y = x @ Wᵀ + b`
 * whose weight `[out, in]` is split across the tensor-parallel group by output rows (column-parallel)
 * or by input columns (row-parallel). A column-parallel layer followed by a row-parallel one needs
 * one all-reduce (SP: one all-gather before, one reduce-scatter after).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { TensorParallelOptions } from './region.js';
import { enterTensorParallel, exitTensorParallel } from './region.js';

/** How a layer multiplies `x [tokens, in]` by its weight `[out, in]` (default `x @ Wᵀ`; e.g. a quantised product). */
export type Projection = (x: Tensor, weight: Tensor) => Tensor;

const matMulT: Projection = (x, w) => tf.matMul(x, w, false, true);

function project(x: Tensor, weight: Tensor, fn: Projection): Tensor {
  const lead = x.shape.slice(0, -1);
  const inF = weight.shape[1];
  if (x.shape[x.rank - 1] !== inF) throw new Error(`parallel linear: input has ${x.shape[x.rank - 1]} features, the weight shard [${weight.shape}] expects ${inF}`);
  return tf.reshape(fn(tf.reshape(x, [-1, inF]), weight), [...lead, weight.shape[0]]);
}

/** Options of {@link columnParallelLinear}. */
export interface ColumnParallelOptions extends TensorParallelOptions {
  /** This rank's bias rows `[out/t]`. */
  bias?: Tensor;
  /** The input is already inside the region (an earlier {@link enterTensorParallel} shared by several layers); default false. */
  inputIsParallel?: boolean;
  /** The product (default `x @ Wᵀ`). */
  projection?: Projection;
}

/**
 * Column-parallel linear: this rank's output features.
 * @param x - `[batch, seqlen, in]` replicated (SP: `[batch, seqlen/t, in]`; with inputIsParallel: already `[batch, seqlen, in]` in the region)
 * @param weight - this rank's rows `[out_local, in]`
 * @returns `[batch, seqlen, out_local]`
 */
export function columnParallelLinear(x: Tensor, weight: Tensor, opts: ColumnParallelOptions = {}): Tensor {
  return tf.tidy(() => {
    const xin = opts.inputIsParallel ? x : enterTensorParallel(x, opts);
    const y = project(xin, weight, opts.projection ?? matMulT);
    return opts.bias ? tf.add(y, opts.bias) : y;
  });
}

/** Options of {@link rowParallelLinear}. */
export interface RowParallelOptions extends TensorParallelOptions {
  /** The full bias `[out]` (replicated; added once, after the reduction). */
  bias?: Tensor;
  /** The product (default `x @ Wᵀ`). */
  projection?: Projection;
}

/**
 * Row-parallel linear: this rank's input features times its weight columns, summed over the group.
 * @param x - `[batch, seqlen, in_local]` (the output of column-parallel layers)
 * @param weight - this rank's columns `[out, in_local]`
 * @returns `[batch, seqlen, out]` (SP: `[batch, seqlen/t, out]`)
 */
export function rowParallelLinear(x: Tensor, weight: Tensor, opts: RowParallelOptions = {}): Tensor {
  return tf.tidy(() => {
    const y = exitTensorParallel(project(x, weight, opts.projection ?? matMulT), opts);
    return opts.bias ? tf.add(y, opts.bias) : y;
  });
}

/** A column-parallel layer holding its weight shard (see {@link columnParallelLinear}). */
export class ColumnParallelLinear {
  /**
   * @param weight - this rank's rows `[out_local, in]`
   * @param opts - group, sequence parallelism, bias rows, projection
   */
  constructor(
    readonly weight: Tensor,
    readonly opts: ColumnParallelOptions = {},
  ) {}

  /** @param x - `[batch, seqlen, in]` (SP: `[batch, seqlen/t, in]`) @returns `[batch, seqlen, out_local]` */
  apply(x: Tensor): Tensor {
    return columnParallelLinear(x, this.weight, this.opts);
  }
}

/** A row-parallel layer holding its weight shard (see {@link rowParallelLinear}). */
export class RowParallelLinear {
  /**
   * @param weight - this rank's columns `[out, in_local]`
   * @param opts - group, sequence parallelism, bias (full), projection
   */
  constructor(
    readonly weight: Tensor,
    readonly opts: RowParallelOptions = {},
  ) {}

  /** @param x - `[batch, seqlen, in_local]` @returns `[batch, seqlen, out]` (SP: `[batch, seqlen/t, out]`) */
  apply(x: Tensor): Tensor {
    return rowParallelLinear(x, this.weight, this.opts);
  }
}

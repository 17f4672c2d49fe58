/**
 * The interface between the collectives (tensor shapes, axes, validation: `collectives/`) and the
 * engines that move the bytes: Gloo over host memory (`gloo_engine.ts`) and NCCL on the cuda
 * backend's stream (`nccl_engine.ts`). Every engine op works on the flat leading-axis layout
 * (`[size, ...block]`); with `sync` it returns the result directly (blocking the calling thread
 * for Gloo), otherwise a Promise.
 */
import type { Tensor } from '@falcon/tensor';
import type { P2PHandle } from './work.js';

/** A reduction. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

/** A result now (sync) or later. @internal */
export type Maybe<T> = T | Promise<T>;

/** An engine's group. @internal */
export interface Engine {
  readonly kind: 'gloo' | 'nccl';
  /** Name of the tfjs backend the group's tensors must live on. */
  readonly tensorBackend: 'cpu' | 'cuda';
  /** x reduced over the group (same shape). `avg` is done by the caller. */
  allReduce(x: Tensor, op: Exclude<ReduceOp, 'avg'>, header: string, sync: boolean): Maybe<Tensor>;
  /** `[size, ...x.shape]`: every rank's x. */
  allGather(x: Tensor, header: string, sync: boolean): Maybe<Tensor>;
  /** x `[size, ...block]` → `block`: the reduction of every rank's x[rank]. */
  reduceScatter(x: Tensor, op: Exclude<ReduceOp, 'avg'>, header: string, sync: boolean): Maybe<Tensor>;
  /** root's x, on every rank. */
  broadcast(x: Tensor, root: number, header: string, sync: boolean): Maybe<Tensor>;
  /** x `[size, ...block]` → `[size, ...block]`: block r of the result came from rank r. */
  allToAll(x: Tensor, header: string, sync: boolean): Maybe<Tensor>;
  send(x: Tensor, dst: number, tag: number, sync: boolean): Maybe<void>;
  recv(shape: number[], dtype: 'float32' | 'int32', src: number, tag: number, sync: boolean): Maybe<Tensor>;
  /** Posts a send of x; the handle's `wait()` blocks until it has been handed over. */
  isend(x: Tensor, dst: number, tag: number): P2PHandle<void>;
  /** Posts a receive `[...shape]`; the handle's `wait()` blocks until it has arrived and returns it. */
  irecv(shape: number[], dtype: 'float32' | 'int32', src: number, tag: number): P2PHandle<Tensor>;
  barrier(sync: boolean): Maybe<void>;
  /** In-place reduction of a host buffer (the data-parallel engine's flat gradients). */
  allReduceBuffer(buf: Float32Array, op: Exclude<ReduceOp, 'avg'>): Promise<Float32Array>;
  /** Reduce-scatter of a flat host buffer `[size × n]` into `out` `[n]` (ZeRO-1's gradient shards). */
  reduceScatterBuffer(buf: Float32Array, out: Float32Array, op: Exclude<ReduceOp, 'avg'>): Promise<Float32Array>;
  /** All-gather of a flat host buffer `[n]` into `out` `[size × n]` (ZeRO-1's parameter shards). */
  allGatherBuffer(buf: Float32Array, out: Float32Array): Promise<Float32Array>;
  close(): void;
}

/**
 * The NCCL engine: a group's collectives on the `cuda` backend's tensors. Every op allocates its
 * output from the backend's caching allocator and queues NCCL on the backend's one stream, on the
 * tensors' device pointers: results are stream-ordered like any kernel's, so nothing waits on the
 * host (a `Work` is complete once queued; reading the result synchronises as for any cuda tensor).
 * NCCL's unique id goes through the store. Point-to-point messages match in issue order per peer
 * (NCCL has no tags: the tag is accepted and ignored).
 */
import { CudaBackend, tf } from '@falcon/tensor';
import type { Tensor, TensorInfo } from '@falcon/tensor';
import type { Engine, ReduceOp } from './engine.js';
import { loadNcclAddon } from './native/nccl_addon.js';
import type { NcclAddon, NcclComm } from './native/nccl_addon.js';
import type { TcpStore } from './store/client.js';

type Op = Exclude<ReduceOp, 'avg'>;

/** How to make a group's communicator. @internal */
export interface NcclEngineOptions {
  store: TcpStore;
  name: string;
  rank: number;
  size: number;
  ranks: number[];
  timeoutMs: number;
}

/** The started cuda backend, or an error saying how to start it. @internal */
export function cudaBackendForNccl(): CudaBackend {
  const names = Object.keys(tf.engine().registry);
  const b = names.includes('cuda') ? tf.findBackend('cuda') : null;
  if (!(b instanceof CudaBackend)) throw new Error("the nccl backend needs @falcon/tensor's cuda backend: call initBackend('cuda') before initProcessGroup({ backend: 'nccl' })");
  return b;
}

/** Checks that NCCL and the cuda backend are there (before any rendezvous). @internal */
export function checkNcclAvailable(): void {
  loadNcclAddon();
  cudaBackendForNccl();
}

/** Makes the group's communicator: rank 0's unique id through the store, then ncclCommInitRank. @internal */
export async function createNcclEngine(o: NcclEngineOptions): Promise<Engine> {
  const addon = loadNcclAddon();
  const backend = cudaBackendForNccl();
  addon.init(backend.device);
  const key = `${o.name}/nccl-unique-id`;
  let id: Uint8Array;
  if (o.rank === 0) {
    id = addon.uniqueId();
    await o.store.set(key, id);
  } else {
    id = new Uint8Array(await o.store.get(key, o.timeoutMs));
  }
  // Blocks until every rank has called it; safe: the store is served from another thread.
  const comm = addon.initRank(id, o.size, o.rank);
  return new NcclEngine(addon, backend, comm, o.size);
}

const DTYPE = { float32: 0, int32: 1 } as Record<string, number>;

/** A group on NCCL. @internal */
export class NcclEngine implements Engine {
  readonly kind = 'nccl' as const;
  readonly tensorBackend = 'cuda' as const;
  private comm?: NcclComm;

  constructor(
    private readonly addon: NcclAddon,
    private readonly backend: CudaBackend,
    comm: NcclComm,
    private readonly size: number,
  ) {
    this.comm = comm;
  }

  private c(): NcclComm {
    if (!this.comm) throw new Error('the NCCL communicator was destroyed');
    return this.comm;
  }

  private dt(x: { dtype: string }): number {
    const d = DTYPE[x.dtype];
    if (d === undefined) throw new Error(`dtype ${x.dtype} is not supported (float32, int32)`);
    return d;
  }

  private wrap(info: TensorInfo): Tensor {
    return tf.engine().makeTensorFromTensorInfo(info, this.backend);
  }

  /** Allocates the output, runs `queue(outPtr)` (which queues NCCL on the stream), returns the output tensor. */
  private run(shape: number[], dtype: string, n: number, queue: (out: number) => void): Tensor {
    const out = this.backend.makeOutput(shape, dtype as tf.DataType);
    try {
      if (n > 0) queue(this.backend.ptr(out));
    } catch (e) {
      this.backend.disposeData(out.dataId, true);
      throw e;
    }
    return this.wrap(out);
  }

  allReduce(x: Tensor, op: Op, _header: string, _sync: boolean): Tensor {
    return this.run(x.shape, x.dtype, x.size, (o) => this.addon.allReduce(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x), op));
  }

  allGather(x: Tensor, _header: string, _sync: boolean): Tensor {
    return this.run([this.size, ...x.shape], x.dtype, x.size, (o) => this.addon.allGather(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x)));
  }

  reduceScatter(x: Tensor, op: Op, _header: string, _sync: boolean): Tensor {
    const n = x.size / this.size;
    return this.run(x.shape.slice(1), x.dtype, n, (o) => this.addon.reduceScatter(this.c(), this.backend.stream, this.backend.ptr(x), o, n, this.dt(x), op));
  }

  broadcast(x: Tensor, root: number, _header: string, _sync: boolean): Tensor {
    return this.run(x.shape, x.dtype, x.size, (o) => this.addon.broadcast(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x), root));
  }

  allToAll(x: Tensor, _header: string, _sync: boolean): Tensor {
    const n = x.size / this.size;
    return this.run(x.shape, x.dtype, x.size, (o) => this.addon.allToAll(this.c(), this.backend.stream, this.backend.ptr(x), o, n, this.dt(x), this.size));
  }

  send(x: Tensor, dst: number, _tag: number, _sync: boolean): void {
    if (x.size > 0) this.addon.send(this.c(), this.backend.stream, this.backend.ptr(x), x.size, this.dt(x), dst);
  }

  recv(shape: number[], dtype: 'float32' | 'int32', src: number, _tag: number, _sync: boolean): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.run(shape, dtype, n, (o) => this.addon.recv(this.c(), this.backend.stream, o, n, DTYPE[dtype], src));
  }

  barrier(_sync: boolean): void {
    // A one-element all-reduce, then the host waits for the stream (a barrier is a host-side event).
    const t = this.backend.makeOutput([1], 'int32');
    try {
      const p = this.backend.ptr(t);
      this.addon.allReduce(this.c(), this.backend.stream, p, p, 1, 1, 'sum');
      this.backend.synchronize();
    } finally {
      this.backend.disposeData(t.dataId, true);
    }
    const err = this.addon.asyncError(this.c());
    if (err) throw new Error(`barrier: NCCL reported an asynchronous error: ${err}`);
  }

  async allReduceBuffer(buf: Float32Array, op: Op): Promise<Float32Array> {
    const x = this.wrap(this.backend.makeTensorInfo([buf.length], 'float32', buf));
    const y = this.allReduce(x, op, '', false);
    try {
      buf.set((await y.data()) as Float32Array);
    } finally {
      x.dispose();
      y.dispose();
    }
    return buf;
  }

  async reduceScatterBuffer(buf: Float32Array, out: Float32Array, op: Op): Promise<Float32Array> {
    const x = this.wrap(this.backend.makeTensorInfo([this.size, buf.length / this.size], 'float32', buf));
    const y = this.reduceScatter(x, op, '', false);
    try {
      out.set((await y.data()) as Float32Array);
    } finally {
      x.dispose();
      y.dispose();
    }
    return out;
  }

  async allGatherBuffer(buf: Float32Array, out: Float32Array): Promise<Float32Array> {
    const x = this.wrap(this.backend.makeTensorInfo([buf.length], 'float32', buf));
    const y = this.allGather(x, '', false);
    try {
      out.set((await y.data()) as Float32Array);
    } finally {
      x.dispose();
      y.dispose();
    }
    return out;
  }

  close(): void {
    if (!this.comm) return;
    const c = this.comm;
    this.comm = undefined;
    this.backend.synchronize();
    this.addon.destroy(c);
  }
}

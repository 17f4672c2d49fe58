/**
 * The NCCL engine: a group's collectives on the `cuda` backend's tensors. Every op allocates its
 * output from the backend's caching allocator and queues NCCL on the backend's one stream, on the
 * tensors' device pointers: results are stream-ordered like any kernel's, so nothing waits on the
 * host (a `Work` is complete once queued; reading the result synchronises as for any cuda tensor).
 * NCCL's unique id goes through the store. Point-to-point messages match in issue order per peer
 * (NCCL has no tags: the tag is accepted and ignored).
 *
 * Faults: a watchdog (a timer, only while ops are in flight) records a CUDA event after every op and
 * checks `ncclCommGetAsyncError`; an op not complete after the group's timeout, or an asynchronous
 * NCCL error, aborts the communicator and makes the group's next op (or barrier, or
 * `destroyProcessGroup`) throw a CollectiveError naming the op and, if the store knows one died,
 * the missing rank. A barrier waits for its own event with the timeout instead of blocking in a
 * stream synchronisation.
 */
import { CudaBackend, tf } from '@falcon/tensor';
import { CollectiveError } from './errors.js';
import type { Tensor, TensorInfo } from '@falcon/tensor';
import type { Engine, ReduceOp } from './engine.js';
import { loadNcclAddon } from './native/nccl_addon.js';
import type { NcclAddon, NcclComm, NcclEvent } from './native/nccl_addon.js';
import { deadKey } from './store/protocol.js';
import type { TcpStore } from './store/client.js';
import { doneHandle } from './work.js';
import type { P2PHandle } from './work.js';

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
  return new NcclEngine(addon, backend, comm, o);
}

const DTYPE = { float32: 0, int32: 1 } as Record<string, number>;

/** A group on NCCL. @internal */
export class NcclEngine implements Engine {
  readonly kind = 'nccl' as const;
  readonly tensorBackend = 'cuda' as const;
  private comm?: NcclComm;
  private readonly size: number;
  private readonly me: number;
  private pending: { op: string; ev: NcclEvent; t0: number }[] = [];
  private broken?: CollectiveError;
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly addon: NcclAddon,
    private readonly backend: CudaBackend,
    comm: NcclComm,
    private readonly o: NcclEngineOptions,
  ) {
    this.comm = comm;
    this.size = o.size;
    this.me = o.ranks[o.rank];
  }

  private c(): NcclComm {
    if (this.broken) throw this.broken;
    if (!this.comm) throw new Error('the NCCL communicator was destroyed');
    return this.comm;
  }

  /** Records the progress mark of an op just queued and starts the watchdog. */
  private mark(op: string): void {
    this.pending.push({ op, ev: this.addon.eventRecord(this.backend.stream), t0: Date.now() });
    if (!this.timer) {
      this.timer = setInterval(() => void this.watch(), Math.max(50, Math.min(1000, this.o.timeoutMs / 4)));
      this.timer.unref();
    }
  }

  private async watch(): Promise<void> {
    if (!this.comm) return this.stopWatch();
    while (this.pending.length && this.addon.eventDone(this.pending[0].ev)) this.addon.eventDestroy(this.pending.shift()!.ev);
    const err = this.addon.asyncError(this.comm);
    const oldest = this.pending[0];
    if (err || (oldest && Date.now() - oldest.t0 > this.o.timeoutMs)) {
      await this.fail(oldest?.op ?? 'collective', err ? `NCCL reported an asynchronous error: ${err}` : `not complete after ${this.o.timeoutMs} ms`);
    }
    if (!this.pending.length) this.stopWatch();
  }

  private stopWatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Aborts the communicator and records the error every later op throws. */
  private async fail(op: string, why: string): Promise<void> {
    let missing: number | undefined;
    try {
      for (const r of this.o.ranks) {
        if (r !== this.me && (await this.o.store.check([deadKey(r)]))) {
          missing = r;
          break;
        }
      }
    } catch {
      // the store is gone too
    }
    const who = missing !== undefined ? `rank ${missing} is missing (its process exited); ` : '';
    this.broken = new CollectiveError(`${op} failed on rank ${this.me} (nccl group '${this.o.name}' of ranks [${this.o.ranks.join(',')}]): ${who}${why}; the communicator was aborted`, this.me, op, missing);
    const c = this.comm;
    this.comm = undefined;
    this.pending = [];
    this.stopWatch();
    if (c) this.addon.abort(c);
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
  private run(op: string, shape: number[], dtype: string, n: number, queue: (out: number) => void): Tensor {
    this.c();
    const out = this.backend.makeOutput(shape, dtype as tf.DataType);
    try {
      if (n > 0) {
        queue(this.backend.ptr(out));
        this.mark(op);
      }
    } catch (e) {
      this.backend.disposeData(out.dataId, true);
      throw e;
    }
    return this.wrap(out);
  }

  allReduce(x: Tensor, op: Op, _header: string, _sync: boolean): Tensor {
    return this.run('allReduce', x.shape, x.dtype, x.size, (o) => this.addon.allReduce(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x), op));
  }

  allGather(x: Tensor, _header: string, _sync: boolean): Tensor {
    return this.run('allGather', [this.size, ...x.shape], x.dtype, x.size, (o) => this.addon.allGather(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x)));
  }

  reduceScatter(x: Tensor, op: Op, _header: string, _sync: boolean): Tensor {
    const n = x.size / this.size;
    return this.run('reduceScatter', x.shape.slice(1), x.dtype, n, (o) => this.addon.reduceScatter(this.c(), this.backend.stream, this.backend.ptr(x), o, n, this.dt(x), op));
  }

  broadcast(x: Tensor, root: number, _header: string, _sync: boolean): Tensor {
    return this.run('broadcast', x.shape, x.dtype, x.size, (o) => this.addon.broadcast(this.c(), this.backend.stream, this.backend.ptr(x), o, x.size, this.dt(x), root));
  }

  allToAll(x: Tensor, _header: string, _sync: boolean): Tensor {
    const n = x.size / this.size;
    return this.run('allToAll', x.shape, x.dtype, x.size, (o) => this.addon.allToAll(this.c(), this.backend.stream, this.backend.ptr(x), o, n, this.dt(x), this.size));
  }

  send(x: Tensor, dst: number, _tag: number, _sync: boolean): void {
    if (x.size > 0) {
      this.addon.send(this.c(), this.backend.stream, this.backend.ptr(x), x.size, this.dt(x), dst);
      this.mark('send');
    }
  }

  recv(shape: number[], dtype: 'float32' | 'int32', src: number, _tag: number, _sync: boolean): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.run('recv', shape, dtype, n, (o) => this.addon.recv(this.c(), this.backend.stream, o, n, DTYPE[dtype], src));
  }

  isend(x: Tensor, dst: number, tag: number): P2PHandle<void> {
    this.send(x, dst, tag, true);
    return doneHandle(undefined);
  }

  irecv(shape: number[], dtype: 'float32' | 'int32', src: number, tag: number): P2PHandle<Tensor> {
    return doneHandle(this.recv(shape, dtype, src, tag, true));
  }

  barrier(_sync: boolean): void {
    // A one-element all-reduce, then the host waits for its event (a barrier is a host-side event),
    // polling with the timeout rather than blocking in a stream synchronisation.
    const t = this.backend.makeOutput([1], 'int32');
    try {
      const p = this.backend.ptr(t);
      this.addon.allReduce(this.c(), this.backend.stream, p, p, 1, 1, 'sum');
      const ev = this.addon.eventRecord(this.backend.stream);
      const deadline = Date.now() + this.o.timeoutMs;
      const nap = new Int32Array(new SharedArrayBuffer(4));
      try {
        while (!this.addon.eventDone(ev)) {
          const err = this.comm ? this.addon.asyncError(this.comm) : null;
          if (err || Date.now() > deadline) {
            const why = err ? `NCCL reported an asynchronous error: ${err}` : `not complete after ${this.o.timeoutMs} ms`;
            this.broken = new CollectiveError(`barrier failed on rank ${this.me} (nccl group '${this.o.name}' of ranks [${this.o.ranks.join(',')}]): ${why}; the communicator was aborted`, this.me, 'barrier');
            const c = this.comm;
            this.comm = undefined;
            if (c) this.addon.abort(c);
            throw this.broken;
          }
          Atomics.wait(nap, 0, 0, 1);
        }
      } finally {
        this.addon.eventDestroy(ev);
      }
    } finally {
      this.backend.disposeData(t.dataId, true);
    }
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
    this.stopWatch();
    if (!this.comm) {
      if (this.broken) throw this.broken;
      return;
    }
    const c = this.comm;
    this.comm = undefined;
    for (const p of this.pending) this.addon.eventDestroy(p.ev);
    this.pending = [];
    this.backend.synchronize();
    this.addon.destroy(c);
  }
}

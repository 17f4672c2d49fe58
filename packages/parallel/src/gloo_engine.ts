/**
 * The Gloo engine: a group's collectives on host memory through the Gloo addon. Tensors must be on
 * the `cpu` backend (their values are read in place, never mutated; results are new tensors).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { Engine, Maybe, ReduceOp } from './engine.js';
import type { GlooNativeGroup, HostBuffer } from './native/gloo_addon.js';
import type { P2PHandle } from './work.js';

type Op = Exclude<ReduceOp, 'avg'>;

/** 128 bytes of ASCII describing one rank's input, compared across ranks before the op. @internal */
export function headerBytes(desc: string): Uint8Array {
  const b = new Uint8Array(128);
  const enc = new TextEncoder().encode(desc.length > 127 ? desc.slice(0, 124) + '...' : desc);
  b.set(enc.subarray(0, 127));
  return b;
}

function hostValues(x: Tensor): HostBuffer {
  const v = x.dataSync();
  // tfjs' cpu cast int32 → float32 keeps the Int32Array: convert, or the addon would see int32
  if (x.dtype === 'float32') return v instanceof Float32Array ? v : Float32Array.from(v);
  if (x.dtype === 'int32') return v instanceof Int32Array ? v : Int32Array.from(v);
  throw new Error(`dtype ${x.dtype} is not supported (float32, int32)`);
}

function alloc(dtype: string, n: number): HostBuffer {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

/** Runs `call` (a native op) sync or async and makes the result with `make`. */
function finish<T>(r: Promise<void> | undefined, make: () => T): Maybe<T> {
  return r ? r.then(make) : make();
}

/** A Gloo group. @internal */
export class GlooEngine implements Engine {
  readonly kind = 'gloo' as const;
  readonly tensorBackend = 'cpu' as const;
  constructor(
    private readonly g: GlooNativeGroup,
    private readonly size: number,
  ) {}

  allReduce(x: Tensor, op: Op, header: string, sync: boolean): Maybe<Tensor> {
    const out = alloc(x.dtype, x.size);
    return finish(this.g.allreduce(hostValues(x), out, op, headerBytes(header), sync), () => tf.tensor(out, x.shape, x.dtype));
  }

  allGather(x: Tensor, header: string, sync: boolean): Maybe<Tensor> {
    const out = alloc(x.dtype, x.size * this.size);
    return finish(this.g.allgather(hostValues(x), out, headerBytes(header), sync), () => tf.tensor(out, [this.size, ...x.shape], x.dtype));
  }

  reduceScatter(x: Tensor, op: Op, header: string, sync: boolean): Maybe<Tensor> {
    const out = alloc(x.dtype, x.size / this.size);
    return finish(this.g.reduceScatter(hostValues(x), out, op, headerBytes(header), sync), () => tf.tensor(out, x.shape.slice(1), x.dtype));
  }

  broadcast(x: Tensor, root: number, header: string, sync: boolean): Maybe<Tensor> {
    const out = alloc(x.dtype, x.size);
    return finish(this.g.broadcast(hostValues(x), out, root, headerBytes(header), sync), () => tf.tensor(out, x.shape, x.dtype));
  }

  allToAll(x: Tensor, header: string, sync: boolean): Maybe<Tensor> {
    const out = alloc(x.dtype, x.size);
    return finish(this.g.alltoall(hostValues(x), out, headerBytes(header), sync), () => tf.tensor(out, x.shape, x.dtype));
  }

  send(x: Tensor, dst: number, tag: number, sync: boolean): Maybe<void> {
    return finish(this.g.send(hostValues(x), dst, tag, sync), () => undefined);
  }

  recv(shape: number[], dtype: 'float32' | 'int32', src: number, tag: number, sync: boolean): Maybe<Tensor> {
    const out = alloc(dtype, shape.reduce((a, b) => a * b, 1));
    return finish(this.g.recv(out, src, tag, sync), () => tf.tensor(out, shape, dtype));
  }

  isend(x: Tensor, dst: number, tag: number): P2PHandle<void> {
    const h = this.g.isend(hostValues(x), dst, tag);
    return { wait: () => h.wait(), isCompleted: () => h.isCompleted() };
  }

  irecv(shape: number[], dtype: 'float32' | 'int32', src: number, tag: number): P2PHandle<Tensor> {
    const out = alloc(dtype, shape.reduce((a, b) => a * b, 1));
    const h = this.g.irecv(out, src, tag);
    return {
      wait: () => {
        h.wait();
        return tf.tensor(out, shape, dtype);
      },
      isCompleted: () => h.isCompleted(),
    };
  }

  barrier(sync: boolean): Maybe<void> {
    return finish(this.g.barrier(sync), () => undefined);
  }

  async allReduceBuffer(buf: Float32Array, op: Op): Promise<Float32Array> {
    await this.g.allreduce(buf, buf, op, headerBytes(`[${buf.length}] float32 ${op}`), false);
    return buf;
  }

  async reduceScatterBuffer(buf: Float32Array, out: Float32Array, op: Op): Promise<Float32Array> {
    await this.g.reduceScatter(buf, out, op, headerBytes(`[${buf.length}] float32 ${op}`), false);
    return out;
  }

  async allGatherBuffer(buf: Float32Array, out: Float32Array): Promise<Float32Array> {
    await this.g.allgather(buf, out, headerBytes(`[${buf.length}] float32`), false);
    return out;
  }

  close(): void {
    this.g.close();
  }
}

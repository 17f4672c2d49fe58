/**
 * Self-test cases of the cuda backend itself (no cpu comparison): the caching allocator reuses
 * freed blocks and disposal returns bytes to the cache, emptyCache returns them to the driver,
 * reshape is a view sharing the data id, a tidy of a model step leaks nothing, async reads
 * agree with sync reads, and unsupported kernels or dtypes fail with clear errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../../backends/cuda/backend.js';
import type { Case, CaseResult } from './harness.js';
import { composites } from './composites.js';
import { makeInputs } from './harness.js';

function check(name: string, f: (b: CudaBackend) => Promise<string | undefined> | string | undefined): Case {
  return {
    group: 'memory',
    name,
    run: async (): Promise<CaseResult> => {
      await tf.setBackend('cuda');
      const b = tf.backend() as CudaBackend;
      try {
        const fail = await f(b);
        return { group: 'memory', name, ok: fail === undefined, err: fail === undefined ? 0 : 1, tol: 0, note: fail };
      } catch (e) {
        return { group: 'memory', name, ok: false, err: 1, tol: 0, note: `threw: ${(e as Error).message.split('\n')[0]}` };
      }
    },
  };
}

/** The backend checks. */
export function memoryCases(): Case[] {
  return [
    check('freed blocks are reused, disposal returns bytes', (b) => {
      const before = b.memory();
      const x = tf.fill([1 << 18], 1); // 1 MiB
      const mid = b.memory();
      x.dispose();
      const after = b.memory();
      const y = tf.fill([1 << 18], 2);
      const again = b.memory();
      y.dispose();
      if (mid.bytesInUse - before.bytesInUse !== 1 << 20) return `in use grew by ${mid.bytesInUse - before.bytesInUse}, expected 1 MiB`;
      if (after.bytesInUse !== before.bytesInUse) return `disposal left ${after.bytesInUse - before.bytesInUse} bytes in use`;
      if (after.bytesCached < 1 << 20) return `the freed block is not cached (${after.bytesCached} cached)`;
      if (again.cacheHits !== after.cacheHits + 1 || again.driverAllocs !== after.driverAllocs) return 'the second allocation did not come from the cache';
      return undefined;
    }),
    check('emptyCache returns cached blocks to the driver', (b) => {
      tf.dispose(tf.fill([3 << 18], 1));
      if (b.memory().bytesCached === 0) return 'nothing was cached';
      b.emptyCache();
      const m = b.memory();
      return m.bytesCached === 0 && m.cachedBlocks === 0 ? undefined : `still ${m.bytesCached} bytes cached`;
    }),
    check('reshape is a view sharing the data id', (b) => {
      const x = tf.fill([6, 4], 3);
      const ids = b.numDataIds();
      const used = b.memory().bytesInUse;
      const r = tf.reshape(x, [4, 6]);
      const same = b.numDataIds() === ids && b.memory().bytesInUse === used && b.refCount(x.dataId) === 2;
      x.dispose();
      const stillThere = b.refCount(r.dataId) === 1 && r.dataSync()[0] === 3;
      r.dispose();
      return same && stillThere ? undefined : 'reshape copied or refcounts are wrong';
    }),
    check('a tidy of a model forward+backward leaks nothing', (b) => {
      const c = composites().find((k) => k.name === 'gqa-attention')!;
      const xs = makeInputs(c, 3);
      const run = () => tf.tidy(() => tf.grads((...g: tf.Tensor[]) => c.fn(...g))(xs));
      tf.dispose(run());
      const before = b.memory();
      const tensors = tf.memory().numTensors;
      tf.dispose(run());
      const after = b.memory();
      tf.dispose(xs);
      if (tf.memory().numTensors !== tensors - xs.length) return `${tf.memory().numTensors - tensors + xs.length} tensors leaked`;
      if (after.bytesInUse !== before.bytesInUse) return `${after.bytesInUse - before.bytesInUse} bytes leaked`;
      if (after.driverAllocs !== before.driverAllocs) return `the second step called cudaMalloc ${after.driverAllocs - before.driverAllocs} times (cache not reused)`;
      return undefined;
    }),
    check('async read equals sync read (4M floats)', async () => {
      const x = tf.tidy(() => tf.sin(tf.range(0, 1 << 22)));
      const a = await x.data();
      const s = x.dataSync();
      x.dispose();
      for (let i = 0; i < a.length; i += 4099) if (a[i] !== s[i]) return `element ${i}: ${a[i]} vs ${s[i]}`;
      return a.length === 1 << 22 ? undefined : 'wrong length';
    }),
    check('tf.time reports kernel milliseconds', async () => {
      const x = tf.ones([1024, 1024]);
      const t = await tf.time(() => tf.dispose(tf.matMul(x, x)));
      x.dispose();
      return typeof t.kernelMs === 'number' && t.kernelMs > 0 ? undefined : `kernelMs ${JSON.stringify(t.kernelMs)}`;
    }),
    check("an unimplemented kernel says 'not registered for backend cuda'", () => {
      const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      try {
        tf.maxPool(x, 2, 1, 'valid');
        return 'no error';
      } catch (e) {
        const m = (e as Error).message;
        return /Kernel 'MaxPool' not registered for backend 'cuda'/.test(m) ? undefined : `message: ${m}`;
      } finally {
        x.dispose();
      }
    }),
    check('string tensors are a clear error', () => {
      try {
        tf.tensor(['a', 'b']);
        return 'no error';
      } catch (e) {
        return /does not support dtype 'string'/.test((e as Error).message) ? undefined : `message: ${(e as Error).message}`;
      }
    }),
  ];
}

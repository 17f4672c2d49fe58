// The NCCL check of @falcon/parallel at world size 1 (NCCL refuses two ranks on one GPU), run on the
// GPU machine by tools/device/nccl-tests.ts (bundled by tools/device/prepare-nccl.sh, run by
// tools/device/run-nccl.sh) and here by test/nccl_engine.test.ts over the emulations: the cuda backend, initProcessGroup({ backend: 'nccl' }) with its own store,
// then the whole API on cuda tensors — every collective (float32 and int32, odd shapes, every
// axis), allReduceBuffer, barrier, newGroup, initializeModelParallel, the differentiable mappings
// with their gradients — each result against its arithmetic at world size 1, plus bad input (a
// cpu tensor given to the nccl group). Results are read back only at the end of each check: the
// collectives themselves never synchronise the host. With `emulate` it runs over the host-memory
// emulations of the cuda and NCCL addons.
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend, Tensor } from '@falcon/tensor';
import { registerEmulatedCudaBackend } from '@falcon/tensor/testing';
import * as pg from '../index.js';
import { setNcclAddon } from '../native/nccl_addon.js';
import { createEmulatedNcclAddon } from './nccl_emulator.js';

/** One check's outcome. */
export interface NcclCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

let results: NcclCheck[] = [];
let quiet = false;

function record(name: string, ok: boolean, detail?: string): void {
  results.push({ name, ok, detail });
  if (!quiet) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

async function check(name: string, got: Tensor, want: Tensor): Promise<void> {
  const [g, w] = [await got.data(), await want.data()];
  if (got.shape.join(',') !== want.shape.join(',')) return record(name, false, `shape [${got.shape}] vs [${want.shape}]`);
  if (got.dtype !== want.dtype) return record(name, false, `dtype ${got.dtype} vs ${want.dtype}`);
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) return record(name, false, `[${i}] ${g[i]} vs ${w[i]}`);
  record(name, true);
}

/**
 * Runs every check (see the module comment) and returns the outcomes.
 *
 * @param opts - `emulate`: over the host-memory emulations (registers them as the `cuda` backend and the NCCL addon); `quiet`: no per-check lines
 */
export async function runNcclChecks(opts: { emulate?: boolean; quiet?: boolean } = {}): Promise<{ results: NcclCheck[]; seconds: number }> {
  results = [];
  quiet = !!opts.quiet;
  if (opts.emulate) {
    registerEmulatedCudaBackend();
    await tf.setBackend('cuda');
    setNcclAddon(createEmulatedNcclAddon((tf.backend() as CudaBackend).addon));
  } else {
    await initBackend('cuda');
  }
  const t0 = Date.now();
  const world = await pg.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, init: 'tcp://127.0.0.1:0' as `tcp://${string}:${number}`, timeoutMs: 60_000 });
  record('initProcessGroup nccl (world size 1)', world.backend === 'nccl' && world.size === 1, `${Date.now() - t0} ms`);
  const rnd = (shape: number[], dtype: 'float32' | 'int32'): Tensor =>
    dtype === 'float32' ? tf.randomUniform(shape, -2, 2, 'float32', 7) : tf.cast(tf.randomUniform(shape, -50, 50, 'float32', 9), 'int32');
  for (const dtype of ['float32', 'int32'] as const) {
    for (const shape of [[7], [3, 5], [2, 3, 5]]) {
      const x = rnd(shape, dtype);
      const tag = `${dtype} [${shape}]`;
      for (const op of dtype === 'float32' ? (['sum', 'avg', 'max', 'min'] as const) : (['sum', 'max', 'min'] as const)) {
        await check(`allReduce ${op} ${tag}`, await pg.allReduce(x, { op }).wait(), x);
      }
      await check(`allReduceSync ${tag}`, pg.allReduceSync(x), x);
      for (let axis = 0; axis < shape.length; axis++) await check(`allGather axis ${axis} ${tag}`, await pg.allGather(x, { axis }).wait(), x);
      const list = await pg.allGatherList(x).wait();
      await check(`allGatherList ${tag}`, list[0], x);
      for (let axis = 0; axis < shape.length; axis++) await check(`reduceScatter axis ${axis} ${tag}`, await pg.reduceScatter(x, { axis }).wait(), x);
      await check(`broadcast ${tag}`, await pg.broadcast(x, { src: 0 }).wait(), x);
      await check(`allToAll ${tag}`, await pg.allToAll(x, { splitAxis: 0, concatAxis: shape.length - 1 }).wait(), x);
    }
  }
  // No host synchronisation: queue every collective (results not read) while counting the cuda
  // addon's synchronize/download calls.
  {
    const backend = tf.findBackend('cuda') as CudaBackend;
    const addon = backend.addon as unknown as Record<string, (...a: unknown[]) => unknown>;
    let syncs = 0;
    const saved: Record<string, (...a: unknown[]) => unknown> = {};
    for (const k of ['synchronize', 'download', 'downloadAsync']) {
      saved[k] = addon[k];
      addon[k] = (...a: unknown[]) => (syncs++, saved[k].apply(backend.addon, a));
    }
    const x = rnd([64, 33], 'float32');
    backend.ptr(x); // upload first: that is the input's cost, not the collectives'
    const outs = [
      await pg.allReduce(x).wait(),
      await pg.allGather(x, { axis: 1 }).wait(),
      await pg.reduceScatter(x).wait(),
      await pg.broadcast(x, { src: 0 }).wait(),
      await pg.allToAll(x).wait(),
      pg.copyToRegion(x),
      pg.gatherFromSequence(x, { axis: 0 }),
    ];
    for (const k of Object.keys(saved)) addon[k] = saved[k];
    record('collectives queue without a host sync', syncs === 0, `${syncs} synchronize/download calls`);
    outs.forEach((t) => t.dispose());
  }
  // Several in flight, then waited in reverse order.
  const xs = Array.from({ length: 8 }, (_, i) => rnd([1000 + i], 'float32'));
  const ws = xs.map((x) => pg.allReduce(x));
  for (let i = xs.length - 1; i >= 0; i--) await check(`allReduce in flight #${i}`, await ws[i].wait(), xs[i]);
  const buf = new Float32Array(1001).map((_, i) => i * 0.5);
  await pg.allReduceBuffer(buf, { op: 'avg' }).wait();
  record('allReduceBuffer', buf.every((v, i) => v === i * 0.5));
  await pg.barrier().wait();
  record('barrier', true);
  const g = await pg.newGroup([0]);
  await check('newGroup([0]) allReduce', await pg.allReduce(xs[0], { group: g }).wait(), xs[0]);
  const mp = await pg.initializeModelParallel({ tp: 1, pp: 1 });
  await check('initializeModelParallel tp allReduce', await pg.allReduce(xs[1], { group: mp.tp }).wait(), xs[1]);
  // Mappings under autodiff: at world size 1 each is the identity (forward) with gradient dy.
  const x = rnd([2, 4, 3], 'float32');
  const w = rnd([2, 4, 3], 'float32');
  for (const [name, f] of [
    ['copyToRegion', (a: Tensor) => pg.copyToRegion(a)],
    ['reduceFromRegion', (a: Tensor) => pg.reduceFromRegion(a)],
    ['scatterToSequence', (a: Tensor) => pg.scatterToSequence(a)],
    ['gatherFromSequence', (a: Tensor) => pg.gatherFromSequence(a)],
    ['reduceScatterToSequence', (a: Tensor) => pg.reduceScatterToSequence(a)],
    ['allToAllMapping', (a: Tensor) => pg.allToAllMapping(a, { splitAxis: 2, concatAxis: 1 })],
  ] as [string, (a: Tensor) => Tensor][]) {
    await check(`${name} forward`, f(x), x);
    await check(`${name} gradient`, tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), w)))(x), w);
  }
  // Bad input: a tensor on the cpu backend.
  await tf.setBackend('cpu');
  const cpuX = tf.ones([3, 2]);
  await tf.setBackend('cuda');
  try {
    pg.allReduce(cpuX);
    record('cpu tensor rejected', false, 'no error');
  } catch (e) {
    record('cpu tensor rejected', /backend 'cpu'.*needs 'cuda'/.test((e as Error).message), (e as Error).message);
  }
  await pg.destroyProcessGroup();
  record('destroyProcessGroup', true);
  return { results, seconds: (Date.now() - t0) / 1000 };
}

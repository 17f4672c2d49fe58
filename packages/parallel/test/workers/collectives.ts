// Worker of test/collectives.test.ts: one rank of a real Gloo group over loopback. It runs every
// collective on awkward shapes, float32 and int32, sync and async (several in flight), in the world
// and in subgroups, and compares each result with the arithmetic computed here from every rank's
// (known) input. Prints `RESULT {"checks": n, "failures": [...]}`.
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import {
  allGather,
  allGatherList,
  allReduce,
  allReduceBuffer,
  allGatherBuffer,
  reduceScatterBuffer,
  allReduceSync,
  allToAll,
  barrier,
  broadcast,
  CollectiveError,
  destroyProcessGroup,
  initProcessGroup,
  newGroup,
  recv,
  reduceScatter,
  send,
} from '../../src/index.js';
import type { ProcessGroup } from '../../src/index.js';

const failures: string[] = [];
let checks = 0;

/** Exact comparison: every value here is a small integer or a multiple of 1/4, so float32 sums are exact. */
function expectValues(what: string, got: Tensor, shape: number[], want: ArrayLike<number>, dtype: string): void {
  checks++;
  const v = got.dataSync();
  if (got.dtype !== dtype) return void failures.push(`${what}: dtype ${got.dtype}, want ${dtype}`);
  if (got.shape.join(',') !== shape.join(',')) return void failures.push(`${what}: shape [${got.shape}], want [${shape}]`);
  for (let i = 0; i < want.length; i++) {
    if (v[i] !== want[i]) return void failures.push(`${what}: [${i}] = ${v[i]}, want ${want[i]}`);
  }
}

/** Rank r's input value at flat index i (distinct per rank and index; exact in float32). */
function val(r: number, i: number, dtype: string): number {
  const k = ((i * 7 + r * 13 + 5) % 23) - 11;
  return dtype === 'float32' ? k * 0.25 : k;
}

function input(r: number, shape: number[], dtype: 'float32' | 'int32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => val(r, i, dtype)), shape, dtype);
}

/** Row-major strides / index helpers for the expected values of axis-wise ops. */
function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
function unravel(i: number, shape: number[]): number[] {
  const st = strides(shape);
  return shape.map((_, d) => Math.floor(i / st[d]) % shape[d]);
}
function ravel(idx: number[], shape: number[]): number {
  const st = strides(shape);
  return idx.reduce((a, x, d) => a + x * st[d], 0);
}

async function worldChecks(pg: ProcessGroup, label: string): Promise<void> {
  const { size } = pg;
  const me = pg.rank;
  const ranks = pg.ranks;
  const shapes = [[7], [3, 5], [2, 3, 5]];
  for (const dtype of ['float32', 'int32'] as const) {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = input(ranks[me], shape, dtype);
      const tag = `${label} ${dtype} [${shape}]`;
      // allReduce: sum, max, min (and avg for float32), several in flight, then one sync.
      const ops = dtype === 'float32' ? (['sum', 'max', 'min', 'avg'] as const) : (['sum', 'max', 'min'] as const);
      const works = ops.map((op) => allReduce(x, { op, group: pg }));
      for (let k = 0; k < ops.length; k++) {
        const op = ops[k];
        const want = Array.from({ length: n }, (_, i) => {
          const vs = ranks.map((r) => val(r, i, dtype));
          if (op === 'sum') return vs.reduce((a, b) => a + b, 0);
          if (op === 'avg') return Math.fround(vs.reduce((a, b) => a + b, 0) / size);
          return op === 'max' ? Math.max(...vs) : Math.min(...vs);
        });
        expectValues(`${tag} allReduce ${op}`, await works[k].wait(), shape, want, dtype);
      }
      const sumWant = Array.from({ length: n }, (_, i) => ranks.reduce((a, r) => a + val(r, i, dtype), 0));
      expectValues(`${tag} allReduceSync`, allReduceSync(x, { group: pg }), shape, sumWant, dtype);
      // allGather along every axis, and as a list.
      for (let axis = 0; axis < shape.length; axis++) {
        const out = [...shape];
        out[axis] *= size;
        const want = Array.from({ length: n * size }, (_, j) => {
          const idx = unravel(j, out);
          const r = Math.floor(idx[axis] / shape[axis]);
          idx[axis] %= shape[axis];
          return val(ranks[r], ravel(idx, shape), dtype);
        });
        expectValues(`${tag} allGather axis ${axis}`, await allGather(x, { axis, group: pg }).wait(), out, want, dtype);
      }
      const list = await allGatherList(x, { group: pg }).wait();
      checks++;
      if (list.length !== size) failures.push(`${tag} allGatherList: ${list.length} tensors`);
      list.forEach((t, r) =>
        expectValues(
          `${tag} allGatherList[${r}]`,
          t,
          shape,
          Array.from({ length: n }, (_, i) => val(ranks[r], i, dtype)),
          dtype,
        ),
      );
      // broadcast from every rank.
      for (const src of ranks) {
        const want = Array.from({ length: n }, (_, i) => val(src, i, dtype));
        expectValues(`${tag} broadcast src ${src}`, await broadcast(x, { src, group: pg }).wait(), shape, want, dtype);
      }
    }
    // reduceScatter and allToAll need an axis divisible by the group size.
    for (const [shape, axis] of [
      [[size * 3], 0],
      [[size * 2, 5], 0],
      [[3, size * 2], 1],
      [[2, size, 3], 1],
    ] as [number[], number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = input(ranks[me], shape, dtype);
      const tag = `${label} ${dtype} [${shape}] axis ${axis}`;
      for (const op of ['sum', 'max'] as const) {
        const out = [...shape];
        out[axis] /= size;
        const want = Array.from({ length: n / size }, (_, j) => {
          const idx = unravel(j, out);
          idx[axis] += me * out[axis];
          const vs = ranks.map((r) => val(r, ravel(idx, shape), dtype));
          return op === 'sum' ? vs.reduce((a, b) => a + b, 0) : Math.max(...vs);
        });
        expectValues(`${tag} reduceScatter ${op}`, await reduceScatter(x, { op, axis, group: pg }).wait(), out, want, dtype);
      }
      for (const concatAxis of [...Array(shape.length).keys()]) {
        // Block r (along axis) goes to rank r; received block s (from rank s) sits at s along concatAxis.
        const block = [...shape];
        block[axis] /= size;
        const out = [...block];
        out[concatAxis] *= size;
        const want = Array.from({ length: n }, (_, j) => {
          const idx = unravel(j, out);
          const s = Math.floor(idx[concatAxis] / block[concatAxis]);
          idx[concatAxis] %= block[concatAxis];
          idx[axis] += me * block[axis];
          return val(ranks[s], ravel(idx, shape), dtype);
        });
        expectValues(`${tag} allToAll concat ${concatAxis}`, await allToAll(x, { splitAxis: axis, concatAxis, group: pg }).wait(), out, want, dtype);
      }
    }
    // send/recv: a ring (everyone sends first) and two tags received in the opposite order.
    if (size > 1) {
      const next = ranks[(me + 1) % size];
      const prev = ranks[(me + size - 1) % size];
      const x = input(ranks[me], [5, 3], dtype);
      const s1 = send(x, { dst: next, tag: 1, group: pg });
      const s2 = send(tf.mul(x, tf.scalar(2, dtype)), { dst: next, tag: 2, group: pg });
      const r2 = recv([5, 3], dtype, { src: prev, tag: 2, group: pg });
      const r1 = recv([5, 3], dtype, { src: prev, tag: 1, group: pg });
      const want1 = Array.from({ length: 15 }, (_, i) => val(prev, i, dtype));
      expectValues(`${label} ${dtype} ring recv tag 2`, await r2.wait(), [5, 3], want1.map((v) => 2 * v), dtype);
      expectValues(`${label} ${dtype} ring recv tag 1`, await r1.wait(), [5, 3], want1, dtype);
      await s1.wait();
      await s2.wait();
      // Two messages with the same tag arrive in the order they were sent.
      const s3 = [send(x, { dst: next, tag: 3, group: pg }), send(tf.mul(x, tf.scalar(3, dtype)), { dst: next, tag: 3, group: pg })];
      const r3 = [recv([5, 3], dtype, { src: prev, tag: 3, group: pg }), recv([5, 3], dtype, { src: prev, tag: 3, group: pg })];
      expectValues(`${label} ${dtype} same tag, second`, await r3[1].wait(), [5, 3], want1.map((v) => 3 * v), dtype);
      expectValues(`${label} ${dtype} same tag, first`, await r3[0].wait(), [5, 3], want1, dtype);
      for (const w of s3) await w.wait();
    }
  }
  // allReduceBuffer (the data-parallel path), in place.
  const buf = new Float32Array(1001).map((_, i) => val(ranks[me], i, 'float32'));
  const same = await allReduceBuffer(buf, { op: 'avg', group: pg }).wait();
  checks++;
  if (same !== buf) failures.push(`${label} allReduceBuffer did not return its buffer`);
  for (let i = 0; i < buf.length; i++) {
    const want = Math.fround(ranks.reduce((a, r) => a + val(r, i, 'float32'), 0) / size);
    if (buf[i] !== want) {
      failures.push(`${label} allReduceBuffer [${i}] = ${buf[i]}, want ${want}`);
      break;
    }
  }
  // reduceScatterBuffer / allGatherBuffer (ZeRO-1's shards).
  const big = new Float32Array(size * 333).map((_, i) => val(ranks[me], i, 'float32'));
  const shard = await reduceScatterBuffer(big, { group: pg }).wait();
  checks++;
  for (let i = 0; i < 333; i++) {
    const want = ranks.reduce((a, r) => a + val(r, me * 333 + i, 'float32'), 0);
    if (shard[i] !== want) {
      failures.push(`${label} reduceScatterBuffer [${i}] = ${shard[i]}, want ${want}`);
      break;
    }
  }
  const gathered = await allGatherBuffer(shard, { group: pg }).wait();
  checks++;
  for (let i = 0; i < size * 333; i++) {
    const want = ranks.reduce((a, r) => a + val(r, i, 'float32'), 0);
    if (gathered[i] !== want) {
      failures.push(`${label} allGatherBuffer [${i}] = ${gathered[i]}, want ${want}`);
      break;
    }
  }
  await barrier({ group: pg }).wait();
}

async function badInput(pg: ProcessGroup): Promise<void> {
  // Shapes that differ between ranks: every rank gets an error listing every rank's input, and the group stays usable.
  const x = tf.zeros(pg.rank === 0 ? [2, 3] : [3, 3]);
  checks++;
  try {
    await allReduce(x).wait();
    failures.push('mismatched shapes: no error');
  } catch (e) {
    const m = (e as Error).message;
    if (!(e instanceof CollectiveError) || !/allReduce/.test(m) || !/rank 0 \[2,3\] float32/.test(m) || !/rank 1 \[3,3\] float32/.test(m)) failures.push(`mismatched shapes: unexpected error ${m}`);
  }
  checks++;
  try {
    await allReduce(tf.zeros([2], pg.rank === 0 ? 'float32' : 'int32')).wait();
    failures.push('mismatched dtypes: no error');
  } catch (e) {
    if (!/int32/.test((e as Error).message) || !/float32/.test((e as Error).message)) failures.push(`mismatched dtypes: ${(e as Error).message}`);
  }
  // send/recv of different sizes or dtypes: an error on the receiver naming both sides (the sender completes).
  for (const [n, dtype] of [[5, 'float32'], [20, 'float32'], [10, 'int32']] as const) {
    checks++;
    if (pg.rank === 0) await send(tf.ones([10]), { dst: 1, tag: 9 }).wait();
    else if (pg.rank === 1) {
      try {
        await recv([n], dtype, { src: 0, tag: 9 }).wait();
        failures.push(`recv of ${n} ${dtype} from a send of 10 float32: no error`);
      } catch (e) {
        if (!new RegExp(`rank 0 sent 10 float32 elements, this rank asked for ${n} ${dtype}`).test((e as Error).message)) failures.push(`recv mismatch: ${(e as Error).message}`);
      }
    }
  }
  // The group still works after bad input.
  expectValues('after bad input', await allReduce(tf.ones([3])).wait(), [3], [pg.size, pg.size, pg.size], 'float32');
  // Local checks, before any byte moves.
  const local: [string, () => unknown, RegExp][] = [
    ['bool dtype', () => allReduce(tf.tensor([true, false], [2], 'bool')), /dtype bool/],
    ['avg of int32', () => allReduce(tf.ones([2], 'int32'), { op: 'avg' }), /avg.*float32/],
    ['reduceScatter indivisible', () => reduceScatter(tf.ones([pg.size * 2 + 1])), /not divisible by the group size/],
    ['broadcast src outside', () => broadcast(tf.ones([2]), { src: pg.size + 3 }), /not in group/],
    ['send to itself', () => send(tf.ones([2]), { dst: pg.rank }), /itself/],
    ['bad axis', () => allGather(tf.ones([2]), { axis: 3 }), /axis 3 is out of range/],
  ];
  for (const [what, fn, re] of local) {
    checks++;
    try {
      fn();
      failures.push(`${what}: no error`);
    } catch (e) {
      if (!re.test((e as Error).message)) failures.push(`${what}: unexpected error ${(e as Error).message}`);
    }
  }
  // A tensor on another backend than the group's: a second cpu backend instance under another name.
  const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu');
  tf.registerBackend('other-cpu', () => new MathBackendCPU());
  await tf.setBackend('other-cpu');
  const foreign = tf.ones([4, 2]);
  await tf.setBackend('cpu');
  checks++;
  try {
    allReduce(foreign);
    failures.push('foreign backend: no error');
  } catch (e) {
    const m = (e as Error).message;
    if (!/rank \d+/.test(m) || !/\[4,2\] float32/.test(m) || !/backend 'other-cpu'/.test(m) || !/needs 'cpu'/.test(m)) failures.push(`foreign backend: ${m}`);
  }
}

async function main(): Promise<void> {
  const world = await initProcessGroup({ timeoutMs: 20_000 });
  await worldChecks(world, 'world');
  // Subgroups: even and odd ranks (collective over the world); non-members are refused.
  const evens = world.ranks.filter((r) => r % 2 === 0);
  const odds = world.ranks.filter((r) => r % 2 === 1);
  const gEven = await newGroup(evens);
  const gOdd = odds.length ? await newGroup(odds) : undefined;
  const mine = world.rank % 2 === 0 ? gEven : gOdd!;
  await worldChecks(mine, `subgroup [${mine.ranks}]`);
  // Two groups' collectives in flight at once (each group has its own FIFO thread).
  {
    const x = input(world.rank, [4, 3], 'float32');
    const a = allReduce(x);
    const b = allReduce(x, { group: mine });
    const c = allGather(x, { group: mine });
    const want = (ranks: number[]) => Array.from({ length: 12 }, (_, i) => ranks.reduce((s, r) => s + val(r, i, 'float32'), 0));
    expectValues('concurrent: subgroup allReduce', await b.wait(), [4, 3], want(mine.ranks), 'float32');
    expectValues('concurrent: world allReduce', await a.wait(), [4, 3], want(world.ranks), 'float32');
    checks++;
    if ((await c.wait()).shape[0] !== 4 * mine.size) failures.push('concurrent: subgroup allGather shape');
  }
  const other = world.rank % 2 === 0 ? gOdd : gEven;
  if (other) {
    checks++;
    try {
      allReduce(tf.ones([1]), { group: other });
      failures.push('non-member: no error');
    } catch (e) {
      if (!/not a member of group/.test((e as Error).message)) failures.push(`non-member: ${(e as Error).message}`);
    }
  }
  // A reversed-order group: ranks are sorted as torch does; the world group keeps working alongside.
  const rev = await newGroup([...world.ranks].reverse());
  checks++;
  if (rev.ranks.join(',') !== world.ranks.join(',')) failures.push(`newGroup did not sort: [${rev.ranks}]`);
  await badInput(world);
  await destroyProcessGroup();
  console.log(`RESULT ${JSON.stringify({ checks, failures })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

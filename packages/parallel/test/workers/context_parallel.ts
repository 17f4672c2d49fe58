// Worker of test/context_parallel.test.ts: the context-parallel mappings on a real Gloo group.
// Each rank r takes loss_r = sum(f(x_r) ⊙ w_r); the gradient tfjs computes through the mapping
// must equal the gradient of the total loss Σ_r loss_r with respect to this rank's input, which
// is written out here from every rank's inputs and weights (computed in this process).
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { chunkOwner, destroyProcessGroup, exchange, exclusiveChunkScan, initProcessGroup, irecv, isend, ringShift, startExchange, startRingShift } from '../../src/index.js';

const failures: string[] = [];
let checks = 0;
const w = (r: number, shape: number[], salt: number): Tensor =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (((i * 5 + r * 11 + salt * 3) % 17) - 8) * 0.25),
    shape,
  );

/** Compares within `tol` relative to the largest expected entry (0: exact). */
function same(what: string, got: Tensor, want: Tensor, tol = 0): void {
  checks++;
  if (got.shape.join(',') !== want.shape.join(',')) return void failures.push(`${what}: shape [${got.shape}], want [${want.shape}]`);
  const g = got.dataSync();
  const e = want.dataSync();
  const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
  for (let i = 0; i < e.length; i++) if (Math.abs(g[i] - e[i]) > tol * scale) return void failures.push(`${what}: [${i}] = ${g[i]}, want ${e[i]}`);
}

async function main(): Promise<void> {
  const world = await initProcessGroup({ timeoutMs: 20_000 });
  const { size: c, rank: r } = world;
  const shape = [2, 3, 4];
  const zeros = tf.zeros(shape);
  const x0 = w(r, shape, 15);

  // ringShift: y_r = x_{r−1}; x_r reaches rank r+1, so dL/dx_r = w_{r+1}.
  {
    const x = w(r, shape, 0);
    same('ringShift forward', ringShift(x, { group: world }), w((r + c - 1) % c, shape, 0));
    same('ringShift grad', tf.grad((a: Tensor) => tf.sum(tf.mul(ringShift(a, { group: world }), w(r, shape, 1))))(x), w((r + 1) % c, shape, 1));
  }
  // a halo-like open chain: r sends to r+1, receives from r−1 (rank 0 gets zeros, the last rank sends nothing).
  {
    const x = w(r, shape, 2);
    const f = (a: Tensor) => exchange(a, { group: world, sendTo: r + 1 < c ? r + 1 : null, recvFrom: r > 0 ? r - 1 : null, tag: 77 });
    same('exchange forward', f(x), r > 0 ? w(r - 1, shape, 2) : zeros);
    same('exchange grad', tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), w(r, shape, 3))))(x), r + 1 < c ? w(r + 1, shape, 3) : zeros);
  }
  // the reverse chain (r sends to r−1), a second exchange in flight between the same pairs.
  {
    const x = w(r, shape, 4);
    const f = (a: Tensor) => exchange(a, { group: world, sendTo: r > 0 ? r - 1 : null, recvFrom: r + 1 < c ? r + 1 : null });
    same('reverse exchange forward', f(x), r + 1 < c ? w(r + 1, shape, 4) : zeros);
    same('reverse exchange grad', tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), w(r, shape, 5))))(x), r > 0 ? w(r - 1, shape, 5) : zeros);
  }
  // startRingShift with compute between the post and the wait, forward and backward: bit-identical to ringShift.
  {
    const x = w(r, shape, 9);
    const f = (a: Tensor, overlap: boolean) => {
      const p = overlap ? startRingShift(a, { group: world, tag: 0x300 }) : undefined;
      const local = tf.sum(tf.mul(tf.exp(tf.mul(a, 0.1)), w(r, shape, 10))); // compute while the shift is in flight
      const y = p ? p.wait() : ringShift(a, { group: world, tag: 0x300 });
      return tf.add(local, tf.sum(tf.mul(tf.tanh(y), w(r, shape, 11))));
    };
    const [vo, go] = [f(x, true), tf.grad((a: Tensor) => f(a, true))(x)];
    const [vp, gp] = [f(x, false), tf.grad((a: Tensor) => f(a, false))(x)];
    same('startRingShift forward = ringShift', vo, vp);
    same('startRingShift grad = ringShift grad', go, gp);
    // dL/dx_r = local term + tanh'(x_r)·w_{r+1}
    const want = tf.grad((a: Tensor) => tf.add(tf.sum(tf.mul(tf.exp(tf.mul(a, 0.1)), w(r, shape, 10))), tf.sum(tf.mul(tf.tanh(a), w((r + 1) % c, shape, 11)))))(x);
    same('startRingShift grad', go, want);
  }
  // an open chain through startExchange (rank 0 gets zeros, the last rank sends nothing).
  {
    const x = w(r, shape, 12);
    const f = (a: Tensor) => startExchange(a, { group: world, sendTo: r + 1 < c ? r + 1 : null, recvFrom: r > 0 ? r - 1 : null, tag: 0x310 }).wait();
    same('startExchange forward', f(x), r > 0 ? w(r - 1, shape, 12) : zeros);
    same('startExchange grad', tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), w(r, shape, 13))))(x), r + 1 < c ? w(r + 1, shape, 13) : zeros);
  }
  // a float32 tensor cast from int32 (tfjs' cpu backend keeps its Int32Array) is sent as float32
  {
    const ints = (q: number) => tf.tensor(Array.from({ length: 6 }, (_, i) => i + 10 * q), [2, 3], 'int32');
    same('ringShift of an int32 → float32 cast', ringShift(tf.cast(ints(r), 'float32'), { group: world, tag: 0x330 }), tf.cast(ints((r + c - 1) % c), 'float32'));
  }
  // isend/irecv refuse bad input before posting anything
  for (const [what, f, re] of [
    ['isend to itself', () => isend(x0, { group: world, dst: r }), /isend on rank \d+: cannot send to itself/],
    ['isend bad tag', () => isend(x0, { group: world, dst: (r + 1) % c, tag: 1 << 24 }), /isend: tag must be an integer in \[0, 2\^24\)/],
    ['irecv bad shape', () => irecv([2, -1], 'float32', { group: world, src: (r + 1) % c }), /irecv: bad shape \[2,-1\]/],
    ['irecv bad dtype', () => irecv([2], 'bool' as 'float32', { group: world, src: (r + 1) % c }), /irecv: dtype must be float32 or int32/],
  ] as [string, () => unknown, RegExp][]) {
    checks++;
    let message = '';
    try {
      f();
    } catch (e) {
      message = (e as Error).message;
    }
    if (!re.test(message)) failures.push(`${what}: expected an error matching ${re}, got '${message}'`);
  }
  // irecv lands while this thread is busy: rank 0 spins (never yielding) until the handle says done, then waits.
  if (r < 2) {
    const data = w(7, [1000], 14);
    checks++;
    if (r === 1) isend(data, { group: world, dst: 0, tag: 0x320 }).wait();
    else {
      const h = irecv([1000], 'float32', { group: world, src: 1, tag: 0x320 });
      const deadline = Date.now() + 10_000;
      while (!h.isCompleted() && Date.now() < deadline);
      if (!h.isCompleted()) failures.push('irecv: the transfer did not complete while the main thread was busy');
      same('irecv value', h.wait(), data);
      let again = '';
      try {
        h.wait();
      } catch (e) {
        again = (e as Error).message;
      }
      if (!/already waited/.test(again)) failures.push(`irecv: a second wait() should be refused, got '${again}'`);
    }
  }
  // exclusiveChunkScan: s_{j+1} = a_j·s_j + b_j over the 2c chunks of the layout, against the sequential scan of every chunk here.
  {
    const chunkA = (j: number) => tf.add(tf.mul(w(j, [1, 3, 1], 6), 0.2), 0.5); // decays around 0.5
    const chunkB = (j: number) => w(j, [1, 3, 4], 7);
    const mine = [r, 2 * c - 1 - r];
    const local = (f: (j: number) => Tensor) => tf.concat(mine.map(f), 0);
    const a = local(chunkA);
    const b = local(chunkB);
    const weights = (q: number) => w(q, [2, 3, 4], 8); // rank q's loss weights on its 2 chunks
    const [ga, gb] = tf.grads((x: Tensor, y: Tensor) => tf.sum(tf.mul(exclusiveChunkScan(x, y, { group: world }), weights(r))))([a, b]);
    // reference: all chunks, total loss Σ_q sum(s of q's chunks ⊙ w_q)
    const As = Array.from({ length: 2 * c }, (_, j) => chunkA(j));
    const Bs = Array.from({ length: 2 * c }, (_, j) => chunkB(j));
    const total = (xs: Tensor[]) => {
      const [A, B] = [xs.slice(0, 2 * c), xs.slice(2 * c)];
      let s: Tensor = tf.zeros([1, 3, 4]);
      let loss: Tensor = tf.scalar(0);
      for (let j = 0; j < 2 * c; j++) {
        const q = chunkOwner(j, c);
        const wq = tf.split(weights(q), 2, 0)[j < c ? 0 : 1];
        loss = tf.add(loss, tf.sum(tf.mul(s, wq)));
        s = tf.add(tf.mul(A[j], s), B[j]);
      }
      // the last chunk's a and b reach no state: a zero-weighted term gives them their zero gradient
      return tf.add(loss, tf.mul(tf.sum(s), 0));
    };
    const refGrads = tf.grads((...xs: Tensor[]) => total(xs))([...As, ...Bs]);
    let s: Tensor = tf.zeros([1, 3, 4]);
    const states: Tensor[] = [];
    for (let j = 0; j < 2 * c; j++) {
      states.push(s);
      s = tf.add(tf.mul(As[j], s), Bs[j]);
    }
    // float32: products of a few factors, summed in the same order (1e-6 relative)
    same('exclusiveChunkScan forward', exclusiveChunkScan(a, b, { group: world }), tf.concat(mine.map((j) => states[j]), 0), 1e-6);
    same('exclusiveChunkScan grad a', ga, tf.concat(mine.map((j) => refGrads[j]), 0), 1e-6);
    same('exclusiveChunkScan grad b', gb, tf.concat(mine.map((j) => refGrads[2 * c + j]), 0), 1e-6);
  }
  await destroyProcessGroup();
  console.log(`RESULT ${JSON.stringify({ checks, failures })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Shared test inputs and tolerance helpers of the @falcon/mamba2 tests: seeded SSD problems of
// awkward sizes, a weighted-sum loss for gradient checks, and tolerances scaled by the data.
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { expectClose, randomTensor } from '@falcon/tensor/testing';
import type { SsdChunkScanOptions } from '../src/index.js';

/** Sizes of one SSD problem. */
export interface SsdSizes {
  b: number;
  l: number;
  h: number;
  p: number;
  g: number;
  n: number;
}

/** Which optional inputs a problem carries. */
export interface SsdFlags {
  D?: boolean;
  z?: boolean;
  dtBias?: boolean;
  init?: boolean;
  seqIdx?: boolean;
}

/** The tensors of one SSD problem. */
export interface SsdCase {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D?: Tensor;
  z?: Tensor;
  dtBias?: Tensor;
  initialStates?: Tensor;
  seqIdx?: Tensor;
}

/**
 * Seeded inputs: x, B, C, z ~ N(0, 1); dt ~ N(0, 1) (softplus keeps Δ in ~(0.1, 3)); A in [−2, −0.3]
 * (so exp(Δ·A) spans strong and weak decay); D ~ N(0, 1); dtBias ~ U(−1, 1); initial states ~ N(0, 0.5²).
 * seqIdx (batch 0: boundaries at 1, 5 and 10; other rows: one boundary in the middle).
 */
export function ssdCase(seed: number, s: SsdSizes, f: SsdFlags = {}): SsdCase {
  const c: SsdCase = {
    x: randomTensor([s.b, s.l, s.h, s.p], seed),
    dt: randomTensor([s.b, s.l, s.h], seed + 1),
    A: tf.neg(randomTensor([s.h], seed + 2, { distribution: 'uniform', min: 0.3, max: 2 })),
    B: randomTensor([s.b, s.l, s.g, s.n], seed + 3),
    C: randomTensor([s.b, s.l, s.g, s.n], seed + 4),
  };
  if (f.D) c.D = randomTensor([s.h], seed + 5);
  if (f.z) c.z = randomTensor([s.b, s.l, s.h, s.p], seed + 6);
  if (f.dtBias) c.dtBias = randomTensor([s.h], seed + 7, { distribution: 'uniform' });
  if (f.init) c.initialStates = randomTensor([s.b, s.h, s.p, s.n], seed + 8, { std: 0.5 });
  if (f.seqIdx) {
    const ids = new Int32Array(s.b * s.l);
    for (let i = 0; i < s.b; i++) {
      for (let t = 0; t < s.l; t++) {
        ids[i * s.l + t] = i === 0 ? (t >= 1 ? 1 : 0) + (t >= 5 ? 1 : 0) + (t >= 10 ? 1 : 0) : t >= s.l >> 1 ? 1 : 0;
      }
    }
    c.seqIdx = tf.tensor(ids, [s.b, s.l], 'int32');
  }
  return c;
}

/** The options of `ssdChunkScan` carrying a case's optional tensors. */
export function ssdOptions(c: SsdCase): SsdChunkScanOptions {
  return { D: c.D, z: c.z, dtBias: c.dtBias, initialStates: c.initialStates, seqIdx: c.seqIdx } as SsdChunkScanOptions;
}

/** Largest absolute value of a tensor (read asynchronously: webgpu cannot read synchronously in Node). */
export async function maxAbs(t: Tensor): Promise<number> {
  const v = await t.data();
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/**
 * expectClose with `atol = rel·max|expected|` and `rtol = rel`: elementwise relative for large
 * values, and relative to the tensor's scale for values near zero (where cancellation makes a
 * purely relative comparison meaningless). Reads both tensors asynchronously first.
 */
export async function expectNear(actual: Tensor, expected: Tensor, rel: number, name: string): Promise<void> {
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  if (!tf.util.arraysEqual(actual.shape, expected.shape)) throw new Error(`${name}: shape [${actual.shape}] differs from expected [${expected.shape}]`);
  expectClose(a, e, { rtol: rel, atol: rel * Math.max(await maxAbs(expected), 1e-30), name });
}

/** A loss that weights every output element by a fixed random weight (so every element's gradient is tested). */
export function weightedSum(outs: Tensor[], seed: number): tf.Scalar {
  let total: Tensor = tf.scalar(0);
  outs.forEach((o, i) => {
    total = tf.add(total, tf.sum(tf.mul(o, randomTensor(o.shape, seed + 101 * i))));
  });
  return total as tf.Scalar;
}

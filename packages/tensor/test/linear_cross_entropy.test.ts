// linearCrossEntropy (chunked linear + cross-entropy) on every backend under test: the loss and
// both gradients against autodiff of the full-logits reference on seeded inputs of awkward sizes
// (chunks that do not divide the rows, one row, one chunk per row, a chunk larger than the rows,
// ignored labels, every label ignored, no rows), its peak memory below the size of the full logits,
// and bad input rejected with a message naming the argument.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, linearCrossEntropy, linearCrossEntropyReference, OpArgumentError, takeWebgpuErrors, tf } from '../src/index.js';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '../src/testing/index.js';
import { Rng } from '../src/random.js';

// Tolerances. Both compute each row's logits, log-sum-exp and picked logit with the same float32
// ops on the same rows; they differ only in how the per-row terms are summed (chunk partial sums
// added in turn vs one sum over all rows): relative error ≲ rows·2⁻²⁴ in the worst case (8e-6 at
// 130 rows), ≈ √rows·2⁻²⁴ typically. Observed worst (cpu): 8.8e-8 relative (chunk 1 over 37 rows).
// rtol 2e-5 covers the worst case.
const LOSS = { rtol: 2e-5, atol: 1e-7 };
// dW sums rows·dz·x terms of both signs per element: chunked partial products added in turn vs one
// product over all rows (≲ rows·2⁻²⁴ of the sum of |terms|, which can exceed |dW| for small
// elements); dx differs only by the softmax written as exp(z − lse) instead of autodiff's form.
// Observed worst (cpu): 3.9e-7 absolute on elements of size ≤ 1 (2.4e-7 on the one-row case).
// atol 1e-6 is above that and 1000× below a wrong row's contribution (≥ 1e-3); rtol 1e-4 ≈ rows·2⁻²⁴.
const GRAD = { rtol: 1e-4, atol: 1e-6 };

/** Labels in [0, vocab) with about `ignored` of them set to −100. */
function labelsOf(rows: number, vocab: number, seed: number, ignored: number): tf.Tensor1D {
  const rng = new Rng(seed);
  const v = new Int32Array(rows);
  for (let i = 0; i < rows; i++) v[i] = rng.uniform() < ignored ? -100 : rng.int(vocab);
  return tf.tensor1d(v, 'int32');
}

// [rows, d, vocab, chunkSize, fraction of labels ignored, scale]
const CASES: [number, number, number, number, number, number][] = [
  [1, 5, 3, 1, 0, 1],
  [7, 5, 97, 3, 0.3, 0.37],
  [37, 33, 1001, 16, 0.1, 1],
  [37, 33, 1001, 1, 0.1, 2.5],
  [130, 17, 257, 64, 0.5, 0.8],
  [130, 17, 257, 500, 0, 1],
  [9, 8, 50, 4, 1, 1], // every label ignored: loss 0, gradients 0
];

describe.each(backendsUnderTest())('linearCrossEntropy on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(CASES)('loss and gradients match the reference: rows %i, d %i, vocab %i, chunk %i, ignored %f, scale %f', async (rows, d, vocab, chunkSize, ignored, scale) => {
    const x = randomTensor([rows, d], 1);
    const w = randomTensor([vocab, d], 2, { std: 0.5 });
    const labels = labelsOf(rows, vocab, 3, ignored);
    const dy = tf.scalar(1.7);
    const f = (a: tf.Tensor, b: tf.Tensor) => linearCrossEntropy(a, b, labels, { scale, chunkSize });
    const r = (a: tf.Tensor, b: tf.Tensor) => linearCrossEntropyReference(a, b, labels, scale);
    const loss = f(x, w);
    expect(loss.shape).toEqual([]);
    await expectCloseAsync(loss, r(x, w), { ...LOSS, name: 'loss' });
    const [dx, dw] = tf.grads(f)([x, w], dy);
    const [rdx, rdw] = tf.grads(r)([x, w], dy);
    expect(dx.shape).toEqual([rows, d]);
    expect(dw.shape).toEqual([vocab, d]);
    await expectCloseAsync(dx, rdx, { ...GRAD, name: 'dx' });
    await expectCloseAsync(dw, rdw, { ...GRAD, name: 'dW' });
    if (ignored === 1) expect(Array.from(await loss.data())).toEqual([0]);
  });

  it('no rows: loss 0 and zero gradients', async () => {
    const x = tf.zeros([0, 4]);
    const w = randomTensor([6, 4], 1);
    const labels = tf.zeros([0], 'int32');
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => linearCrossEntropy(a, b, labels))([x, w]);
    expect(Array.from(await linearCrossEntropy(x, w, labels).data())).toEqual([0]);
    expect(dx.shape).toEqual([0, 4]);
    expect(Array.from(await dw.data())).toEqual(new Array(24).fill(0));
  });

  it('a custom ignoreIndex', async () => {
    const x = randomTensor([5, 3], 4);
    const w = randomTensor([7, 3], 5);
    const raw = tf.tensor1d([1, 6, 0, 6, 3], 'int32');
    const asIgnored = tf.tensor1d([1, -100, 0, -100, 3], 'int32');
    await expectCloseAsync(linearCrossEntropy(x, w, raw, { ignoreIndex: 6, chunkSize: 2 }), linearCrossEntropyReference(x, w, asIgnored), LOSS);
  });

  it.runIf(backend === 'cpu')('forward + backward peak memory stays below the full logits', async () => {
    // rows × vocab float32 logits: 512 × 4000 × 4 B = 8 MB. The chunked op at 32 rows holds a few
    // [32, 4000] tensors at a time (0.5 MB each) plus x, W, dx and dW (≤ 256 kB each); autodiff of
    // the reference keeps the logits and builds their softmax and gradient, several times their size.
    const rows = 512;
    const vocab = 4000;
    const x = randomTensor([rows, 16], 6);
    const w = randomTensor([vocab, 16], 7);
    const labels = labelsOf(rows, vocab, 8, 0.1);
    const logitsBytes = rows * vocab * 4;
    const peak = async (fn: (a: tf.Tensor, b: tf.Tensor) => tf.Scalar) => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => tf.dispose(tf.grads(fn)([x, w])));
      return info.peakBytes - before;
    };
    const chunked = await peak((a, b) => linearCrossEntropy(a, b, labels, { chunkSize: 32 }));
    const full = await peak((a, b) => linearCrossEntropyReference(a, b, labels));
    expect(full).toBeGreaterThan(2 * logitsBytes);
    expect(chunked).toBeLessThan(logitsBytes / 2);
  });

  it('rejects bad input naming the argument', () => {
    const x = randomTensor([4, 3], 1);
    const w = randomTensor([5, 3], 2);
    const l = tf.tensor1d([0, 1, 2, 3], 'int32');
    expect(() => linearCrossEntropy(x, randomTensor([5, 2], 3), l)).toThrow(/linearCrossEntropy: argument 'weight' must have shape/);
    expect(() => linearCrossEntropy(x, w, tf.tensor1d([0, 1, 2], 'int32'))).toThrow(/argument 'labels' must have shape/);
    expect(() => linearCrossEntropy(x, w, tf.tensor1d([0, 1, 2, 3]))).toThrow(/argument 'labels' must be int32, got float32/);
    expect(() => linearCrossEntropy(tf.zeros([4]), w, l)).toThrow(/argument 'x' must have rank 2/);
    expect(() => linearCrossEntropy(x, w, l, { chunkSize: 0 })).toThrow(/option 'chunkSize' must be a positive integer/);
    expect(() => linearCrossEntropy(x, w, l, { scale: Number.NaN })).toThrow(OpArgumentError);
    expect(() => linearCrossEntropy(x, tf.zeros([0, 3]), l)).toThrow(/vocab ≥ 1/);
  });
});

// The cases the CUDA device runner (tools/device/op-tests.ts) checks: each op's cuda kernel
// (forward and backward) against its cpu kernel on seeded inputs of awkward sizes.
import { adamwStep, linearCrossEntropy, rmsNorm, tf } from '../../src/index.js';
import type { AdamwStepAttrs } from '../../src/index.js';
import type { OpCase } from '../../src/testing/index.js';
import { randomTensor } from '../../src/testing/index.js';

function rmsNormCase(shape: number[], wShape: number[], eps: number): OpCase {
  return {
    name: `rmsNorm x[${shape}] w[${wShape}] eps ${eps}`,
    inputs: () => ({ x: randomTensor(shape, 1), weight: randomTensor(wShape, 2, { mean: 1, std: 0.2 }) }),
    run: ({ x, weight }) => ({ y: rmsNorm(x, weight, eps) }),
    grads: ['x', 'weight'],
    // float32 sums of ≤ 2·10⁵ terms in a different order (tree vs sequential): ~1e-6 relative.
    tol: 1e-5,
  };
}

function adamwCase(shape: number[], attrs: AdamwStepAttrs, clip: number | undefined): OpCase {
  return {
    name: `adamwStep [${shape}] step ${attrs.step} wd ${attrs.weightDecay} clip ${clip ?? 'none'}`,
    inputs: () => ({
      param: randomTensor(shape, 1),
      grad: randomTensor(shape, 2, { std: 0.3 }),
      m: randomTensor(shape, 3, { std: 0.1 }),
      v: randomTensor(shape, 4, { distribution: 'uniform', min: 0, max: 0.01 }),
      ...(clip === undefined ? {} : { gradScale: tf.scalar(clip) }),
    }),
    run: ({ param, grad, m, v, gradScale }) => adamwStep({ param, grad, m, v, gradScale }, attrs),
    // The CUDA kernel rounds each operation as the cpu kernel does (_rn intrinsics, no FMA), so the
    // results should be equal; 1e-6 admits a 1-ulp difference in a few elements and nothing more.
    tol: 1e-6,
  };
}

function crossEntropyCase(rows: number, d: number, vocab: number, chunkSize: number): OpCase {
  return {
    name: `linearCrossEntropy rows ${rows} d ${d} vocab ${vocab} chunk ${chunkSize}`,
    inputs: () => ({
      x: randomTensor([rows, d], 1),
      weight: randomTensor([vocab, d], 2, { std: 0.5 }),
      // every 5th label ignored (−100)
      labels: tf.tidy(() => tf.where(tf.equal(tf.mod(tf.range(0, rows, 1, 'int32'), 5), 2), tf.fill([rows], -100, 'int32'), randomTensor([rows], 3, { dtype: 'int32', min: 0, max: vocab }))),
    }),
    run: ({ x, weight, labels }) => ({ loss: linearCrossEntropy(x, weight, labels, { scale: 0.7, chunkSize }) }),
    grads: ['x', 'weight'],
    // float32 sums over vocab (log-sum-exp, cuBLASLt products over d and over the chunk's rows) in
    // other orders than the cpu's: ~1e-6 relative; atomics-free, so 1e-5 bounds it with margin.
    tol: 1e-5,
  };
}

/** This package's CUDA op cases. */
export const cudaCases: OpCase[] = [
  rmsNormCase([3, 7], [7], 1e-6),
  rmsNormCase([2, 37, 33], [33], 1e-5),
  rmsNormCase([5, 1000], [1000], 1e-5),
  rmsNormCase([1, 3, 4097], [4097], 1e-6),
  rmsNormCase([2, 19, 3, 17], [3, 17], 1e-5), // group-wise weight
  rmsNormCase([257, 1024], [1024], 1e-5),
  rmsNormCase([0, 8], [8], 1e-5),
  adamwCase([1], { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 }, undefined),
  adamwCase([33, 65], { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step: 7 }, 0.37),
  adamwCase([1024, 1031], { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.1, step: 1000 }, 1),
  adamwCase([0, 5], { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 2 }, 0.5),
  crossEntropyCase(37, 33, 1001, 16),
  crossEntropyCase(300, 64, 4099, 128),
  crossEntropyCase(5, 8, 7, 1),
];

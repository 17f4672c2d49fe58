// The cases the CUDA device runner (tools/device/op-tests.ts) checks: each op's cuda kernel
// (forward and backward) against its cpu kernel on seeded inputs of awkward sizes.
import { rmsNorm } from '../../src/index.js';
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

/** This package's CUDA op cases. */
export const cudaCases: OpCase[] = [
  rmsNormCase([3, 7], [7], 1e-6),
  rmsNormCase([2, 37, 33], [33], 1e-5),
  rmsNormCase([5, 1000], [1000], 1e-5),
  rmsNormCase([1, 3, 4097], [4097], 1e-6),
  rmsNormCase([2, 19, 3, 17], [3, 17], 1e-5), // group-wise weight
  rmsNormCase([257, 1024], [1024], 1e-5),
  rmsNormCase([0, 8], [8], 1e-5),
];

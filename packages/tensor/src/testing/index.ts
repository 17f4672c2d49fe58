/**
 * Numeric test helpers every `@falcon` package uses: seeded random tensors, the relative error of
 * two tensors, `expectClose` with a message that shows the worst element, the list of backends a
 * test run covers, and `compareBackends` for the CUDA op cases. Also the CUDA self-test of the
 * cuda backend's generic kernels (`runCudaSelfTest`, `traceKernels`, the Falcon-H1-shaped
 * composites it runs) and the host-memory emulation of the cuda addon that lets it run without a
 * GPU (`registerEmulatedCudaBackend`). Import from `@falcon/tensor/testing`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backends/types.js';
import { BACKEND_NAMES } from '../backends/types.js';
import { Rng } from '../random.js';
import { relativeError, values } from './relative_error.js';

/** Options of {@link randomTensor}. */
export interface RandomTensorOptions {
  /** `'normal'` (default) or `'uniform'`. */
  distribution?: 'normal' | 'uniform';
  /** Uniform: lower bound (default −1). */
  min?: number;
  /** Uniform: upper bound (default 1). */
  max?: number;
  /** Normal: standard deviation (default 1). */
  std?: number;
  /** Normal: mean (default 0). */
  mean?: number;
  /** `'float32'` (default) or `'int32'` (uniform integers in [min, max)). */
  dtype?: 'float32' | 'int32';
}

/** A seeded random tensor. @param shape - any shape @param seed - stream seed @returns a tensor of `shape` */
export function randomTensor(shape: number[], seed: number, options: RandomTensorOptions = {}): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const { distribution = 'normal', min = -1, max = 1, std = 1, mean = 0, dtype = 'float32' } = options;
  if (dtype === 'int32') {
    const v = new Int32Array(n);
    for (let i = 0; i < n; i++) v[i] = min + rng.int(max - min);
    return tf.tensor(v, shape, 'int32');
  }
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = distribution === 'uniform' ? min + (max - min) * rng.uniform() : mean + std * rng.normal();
  return tf.tensor(v, shape, 'float32');
}

export { relativeError };

/** Tolerances of {@link expectClose}: element i passes when |a − e| ≤ atol + rtol·|e|. */
export interface Tolerance {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Prefix of the failure message (what is being compared). */
  name?: string;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Throw unless every element satisfies |a − e| ≤ atol + rtol·|e| (NaN equals NaN only where both
 * are NaN; shapes must match). The message names the worst element, its index, both values, how
 * many elements fail and the relative error norm.
 * @param actual - tensor (or array) computed by the code under test
 * @param expected - tensor (or array) from the reference
 */
export function expectClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, tol: Tolerance = {}): void {
  const { rtol = 1e-5, atol = 1e-6, name = 'tensor' } = tol;
  const shape = actual instanceof tf.Tensor ? actual.shape : [values(actual).length];
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor && !tf.util.arraysEqual(actual.shape, expected.shape)) {
    throw new Error(`${name}: shape [${actual.shape}] differs from expected [${expected.shape}]`);
  }
  const a = values(actual);
  const e = values(expected);
  if (a.length !== e.length) throw new Error(`${name}: size ${a.length} differs from expected ${e.length}`);
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    const ei = e[i];
    if (Number.isNaN(ai) || Number.isNaN(ei)) {
      if (Number.isNaN(ai) !== Number.isNaN(ei)) {
        bad++;
        if (worstExcess < Infinity) {
          worstExcess = Infinity;
          worst = i;
        }
      }
      continue;
    }
    if (ai === ei) continue;
    const excess = Math.abs(ai - ei) - (atol + rtol * Math.abs(ei));
    if (!(excess <= 0)) {
      bad++;
      if (excess > worstExcess || Number.isNaN(excess)) {
        worstExcess = Number.isNaN(excess) ? Infinity : excess;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    const idx = unravel(worst, shape);
    throw new Error(
      `${name}: ${bad} of ${a.length} elements differ beyond atol=${atol} rtol=${rtol}; worst at [${idx.join(', ')}]: ` +
        `actual ${a[worst]}, expected ${e[worst]} (|diff| ${Math.abs(a[worst] - e[worst]).toExponential(3)}); ` +
        `relative error norm ${relativeError(a, e).toExponential(3)}`,
    );
  }
}

/**
 * {@link expectClose} for tensors on any backend: reads both tensors asynchronously first, because
 * the webgpu backend cannot read GPU data synchronously in Node (`dataSync` throws there until the
 * values were downloaded with `await t.data()`). Use it in every suite parameterised by backend.
 * @param actual - tensor (or array) computed by the code under test
 * @param expected - tensor (or array) from the reference
 */
export async function expectCloseAsync(
  actual: tf.Tensor | ArrayLike<number>,
  expected: tf.Tensor | ArrayLike<number>,
  tol: Tolerance = {},
): Promise<void> {
  await Promise.all([actual, expected].map((t) => (t instanceof tf.Tensor ? t.data() : undefined)));
  expectClose(actual, expected, tol);
}

/**
 * The backends this test run covers: `$FALCON_TEST_BACKENDS` (comma-separated, e.g. `cpu,webgpu`),
 * default `cpu`. A suite runs once per backend listed; a listed backend that cannot start fails
 * the suite rather than being skipped.
 */
export function backendsUnderTest(): BackendName[] {
  const env = typeof process !== 'undefined' ? process.env.FALCON_TEST_BACKENDS : undefined;
  const list = (env ?? 'cpu').split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of list) {
    if (!(BACKEND_NAMES as readonly string[]).includes(b)) throw new Error(`FALCON_TEST_BACKENDS: unknown backend '${b}'`);
  }
  return list as BackendName[];
}

export { checkOpCase, compareBackends } from './compare_backends.js';
export type { OpCase, OpCaseResult } from './compare_backends.js';
export { runCudaSelfTest } from './cuda_selftest/index.js';
export type { CaseResult, SelfTestOptions } from './cuda_selftest/index.js';
export { traceKernels } from './cuda_selftest/trace.js';
export type { KernelTrace, TracePhase } from './cuda_selftest/trace.js';
export * as cudaComposites from './cuda_selftest/composites.js';
export { createEmulatedCudaAddon } from './cuda_emulator.js';
export { emulateNative, cudaAddonContractProblems } from './native_contract.js';
export { registerEmulatedCudaBackend } from './emulated_cuda.js';

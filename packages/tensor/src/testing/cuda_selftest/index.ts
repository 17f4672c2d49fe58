/**
 * The CUDA self-test: every cuda kernel against the cpu backend on random inputs of awkward
 * sizes, gradients of Falcon-H1-shaped composites, the allocator and backend checks, and the
 * TF32 versus exact-float32 matrix-product error, and the bf16 products against a float64
 * reference of their bf16-rounded inputs. Run by the device runner
 * (tools/device/cuda-tests.ts) and by `test/cuda.test.ts` when a GPU is present.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bf16MatmulCases } from './cases_bf16.js';
import { elementwiseCases } from './cases_elementwise.js';
import { layoutCases } from './cases_layout.js';
import { memoryCases } from './cases_memory.js';
import { matmulCases, matmulPrecisionErrors, modelCases } from './cases_model.js';
import type { Case, CaseResult } from './harness.js';

export type { Case, CaseResult } from './harness.js';

/** Every self-test case, in report order. */
export function cudaSelfTestCases(): Case[] {
  return [...elementwiseCases(), ...layoutCases(), ...matmulCases(), ...bf16MatmulCases(), ...modelCases(), ...memoryCases()];
}

/** Options of {@link runCudaSelfTest}. */
export interface SelfTestOptions {
  /** Only cases whose group or name contains this text. */
  filter?: string;
  /** Called after each case (for progress output). */
  onResult?: (r: CaseResult) => void;
  /** Also measure the TF32 / exact-f32 product error against float64 (default true). */
  precision?: boolean;
}

/**
 * Runs the self-test. The cpu and cuda backends must both be registered (`initBackend('cuda')`
 * first); the active backend is restored afterwards.
 *
 * @returns one row per case
 */
export async function runCudaSelfTest(options: SelfTestOptions = {}): Promise<CaseResult[]> {
  const active = tf.getBackend();
  const results: CaseResult[] = [];
  const push = (r: CaseResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  try {
    for (const c of cudaSelfTestCases()) {
      if (options.filter && !`${c.group} ${c.name}`.includes(options.filter)) continue;
      push(await c.run());
    }
    if (options.precision !== false && (!options.filter || 'matmul precision'.includes(options.filter))) {
      for (const r of await matmulPrecisionErrors()) push(r);
    }
  } finally {
    await tf.setBackend(active);
  }
  return results;
}

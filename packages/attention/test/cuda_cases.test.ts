// The CUDA op cases (test/cuda/cases.ts) run on the GPU machine only; here each one is built and
// run on the cpu backend against itself, so a broken case (bad shapes, no gradient) fails in CI.
import { describe, expect, it } from 'vitest';
import { checkOpCase } from '@falcon/tensor/testing';
import { cudaCases } from './cuda/cases.js';

describe('CUDA op cases', () => {
  it('exist', () => expect(cudaCases.length).toBeGreaterThan(0));
  for (const c of cudaCases) it(`${c.name} runs on cpu`, async () => expect(await checkOpCase(c)).toBeUndefined());
});

import type { OpCase } from '@falcon/tensor/testing';

/** CUDA op cases. */
export const convNormCases: OpCase[] = [];

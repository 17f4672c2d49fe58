// The cases the CUDA device runner (tools/device/op-tests.ts) checks: each op's cuda kernel
// (forward and backward) against its cpu kernel on seeded inputs of awkward sizes.
import type { OpCase } from '@falcon/tensor/testing';

/** This package's CUDA op cases. */
export const cudaCases: OpCase[] = [];

/**
 * Every tfjs kernel the cuda backend implements, and their registration. A kernel missing here
 * makes tfjs throw "Kernel 'X' not registered for backend 'cuda'".
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { getKernel, registerKernel } from '@tensorflow/tfjs-core';
import { binaryKernels } from './binary.js';
import { creationKernels } from './creation.js';
import { gatherKernels } from './gather.js';
import { layoutKernels } from './layout.js';
import { matmulKernels } from './matmul.js';
import { reduceKernels } from './reduce.js';
import { softmaxKernels } from './softmax.js';
import { unaryKernels } from './unary.js';

/** All kernel configs of the cuda backend. */
export const cudaKernelConfigs: KernelConfig[] = [
  ...unaryKernels,
  ...binaryKernels,
  ...creationKernels,
  ...layoutKernels,
  ...gatherKernels,
  ...reduceKernels,
  ...softmaxKernels,
  ...matmulKernels,
];

/** Names of the kernels the cuda backend implements, sorted. */
export function cudaKernelNames(): string[] {
  return cudaKernelConfigs.map((k) => k.kernelName).sort();
}

/** Registers every cuda kernel with tfjs (once; later calls do nothing). */
export function registerCudaKernels(): void {
  for (const k of cudaKernelConfigs) if (!getKernel(k.kernelName, 'cuda')) registerKernel(k);
}

/**
 * The `cuda` backend over the host-memory emulation of its addon, for machines without a GPU:
 * the backend's TypeScript layer and the CUDA self-test run there as they would on a device.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MatmulPrecision } from '../backends/cuda/backend.js';
import { CudaBackend } from '../backends/cuda/backend.js';
import { registerCudaKernels } from '../backends/cuda/kernels/index.js';
import { createEmulatedCudaAddon } from './cuda_emulator.js';

/**
 * Registers a `cuda` backend (device 0) whose addon is {@link createEmulatedCudaAddon}, and the
 * cuda kernels, with tfjs. The active backend is left as it was; `tf.setBackend('cuda')` selects it
 * and `tf.removeBackend('cuda')` takes it away again. Throws when a `cuda` backend is registered.
 * @param precision - the backend's matrix-product precision (the `CudaBackend` default when omitted)
 */
export function registerEmulatedCudaBackend(precision?: MatmulPrecision): void {
  if (tf.findBackendFactory('cuda')) throw new Error("registerEmulatedCudaBackend: a 'cuda' backend is already registered");
  const addon = createEmulatedCudaAddon();
  tf.registerBackend('cuda', () => new CudaBackend(addon, 0, precision), 0);
  registerCudaKernels();
}

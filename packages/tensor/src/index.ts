/**
 * `@falcon/tensor`: tensors (tfjs-core), backend start-up (cpu, webgpu, cuda), `defineOp` for
 * declaring ops with one kernel per backend and a gradient, dtype helpers and seeded initialisers.
 * Numeric test helpers are in `@falcon/tensor/testing`.
 *
 * @packageDocumentation
 */
export { tf } from './tf.js';
export type {
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Tensor5D,
  Scalar,
  Rank,
  DataType,
  TensorInfo,
  NamedTensorMap,
  KernelBackend,
  TypedArray,
  Variable,
} from './tf.js';
export { initBackend, availableBackends, currentBackend, backendInfo } from './backend.js';
export { BACKEND_NAMES, BackendUnavailableError } from './backends/types.js';
export type { BackendName, BackendStatus, InitBackendOptions } from './backends/types.js';
export { defineOp, MissingKernelError } from './define_op.js';
export type { Op, OpSpec, OpKernel, OpGrad, OpInputs, KernelArgs, GradArgs } from './define_op.js';
export { compositeKernel, hostKernel } from './kernels.js';
export type { HostTensor, HostInputs } from './kernels.js';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, fp8ToF32, f32ToFp8 } from './dtype.js';
export type { Float8Format } from './dtype.js';
export { Rng } from './random.js';
export * as init from './init.js';
export type { InitOptions } from './init.js';
export { VERSION } from './version.js';

/**
 * `@falcon/tensor`: tensors (tfjs-core), backend start-up (cpu, webgpu, cuda), `defineOp` for
 * declaring ops with one kernel per backend and a gradient, the WebGPU program helper every op
 * package writes its WGSL kernels with (`webgpuKernel`, `runWebgpuProgram`; see docs/webgpu.md),
 * the fused `rmsNorm` op, dtype helpers and seeded initialisers.
 * Numeric test helpers are in `@falcon/tensor/testing`.
 *
 * @packageDocumentation
 */
export * from './tf.js';
export { initBackend, availableBackends, currentBackend, backendInfo } from './backend.js';
export { BACKEND_NAMES, BackendUnavailableError } from './backends/types.js';
export type { BackendName, BackendStatus, InitBackendOptions } from './backends/types.js';
export { defineOp, MissingKernelError } from './define_op.js';
export type { Op, OpSpec, OpKernel, OpGrad, OpInputs, KernelArgs, GradArgs } from './define_op.js';
export { compositeKernel, hostKernel } from './kernels.js';
export type { HostTensor, HostInputs } from './kernels.js';
export { webgpuKernel } from './webgpu/kernel.js';
export type { WebgpuKernelArgs } from './webgpu/kernel.js';
export { runWebgpuProgram, isWebgpuBackend } from './webgpu/program.js';
export type { WebgpuProgram } from './webgpu/program.js';
export type { WgslUniform, WgslUniformType, WgslScalarType } from './webgpu/uniforms.js';
export { takeWebgpuErrors } from './webgpu/errors.js';
export { wgslWorkgroupReduce } from './webgpu/workgroup_reduce.js';
export type { WorkgroupReduceOp } from './webgpu/workgroup_reduce.js';
export { rmsNorm } from './ops/rms_norm.js';
export { rmsNormBackward } from './ops/rms_norm_backward.js';
export { rmsNormReference } from './ops/reference/rms_norm.js';
export { rmsNormBackwardReference } from './ops/reference/rms_norm_backward.js';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, fp8ToF32, f32ToFp8 } from './dtype.js';
export type { Float8Format } from './dtype.js';
export { Rng } from './random.js';
export * as init from './init.js';
export type { InitOptions } from './init.js';
export { VERSION } from './version.js';
export { CudaBackend } from './backends/cuda/backend.js';
export type { CudaMemoryInfo, MatmulPrecision } from './backends/cuda/backend.js';
export type { CudaBackendOptions } from './backends/cuda.js';
export { cudaExtension, cudaKernel, CudaExtension } from './backends/cuda/extension.js';
export { cudaAddonFile, cudaAddonPackage, findCudaAddon, PREBUILT_CUDA_PLATFORMS } from './backends/cuda/addon_path.js';
export type { CudaAddonLookup } from './backends/cuda/addon_path.js';
export type { CudaExtensionAddon, CudaKernelContext } from './backends/cuda/extension.js';
export { cudaKernelNames } from './backends/cuda/kernels/index.js';
export { runCudaSelfTest } from './backends/cuda/selftest/index.js';
export type { CaseResult, SelfTestOptions } from './backends/cuda/selftest/index.js';

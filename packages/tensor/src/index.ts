/**
 * `@falcon/tensor`: tensors (tfjs-core), backend start-up (cpu, webgpu, cuda), `defineOp` for
 * declaring ops with one kernel per backend and a gradient, the WebGPU program helper every op
 * package writes its WGSL kernels with (`webgpuKernel`, `runWebgpuProgram`; see docs/webgpu.md),
 * the fused `rmsNorm` op, the chunked `linearCrossEntropy`, the fused `adamwStep`, dtype helpers and seeded initialisers.
 * Numeric test helpers are in `@falcon/tensor/testing`.
 *
 * @packageDocumentation
 */
export * from './tf.js';
export { initBackend, availableBackends, currentBackend, backendInfo } from './backend.js';
export { BACKEND_NAMES, BackendUnavailableError } from './backends/types.js';
export type { BackendName, BackendStatus, InitBackendOptions } from './backends/types.js';
export { defineOp, MissingKernelError } from './op/define_op.js';
export type { Op, OpSpec, OpKernel, OpGrad, OpInputs, KernelArgs, GradArgs } from './op/define_op.js';
export { opCheck, OpCheck, ArgCheck, OpArgumentError } from './op/check.js';
export type { ArgKind, CheckStyle, TensorSpec, NumberBounds, IntBounds } from './op/check.js';
export { compositeKernel, hostKernel } from './op/host_kernel.js';
export type { HostTensor, HostInputs } from './op/host_kernel.js';
export { webgpuKernel } from './op/webgpu/kernel.js';
export type { WebgpuKernelArgs } from './op/webgpu/kernel.js';
export { runWebgpuProgram, isWebgpuBackend } from './op/webgpu/program.js';
export type { WebgpuProgram } from './op/webgpu/program.js';
export type { WgslUniform, WgslUniformType, WgslScalarType } from './op/webgpu/uniforms.js';
export { takeWebgpuErrors } from './op/webgpu/errors.js';
export { wgslWorkgroupReduce } from './op/webgpu/workgroup_reduce.js';
export type { WorkgroupReduceOp } from './op/webgpu/workgroup_reduce.js';
export { rmsNorm } from './rms_norm.js';
export { rmsNormBackward } from './rms_norm_backward.js';
export { rmsNormReference } from './reference/rms_norm.js';
export { rmsNormBackwardReference } from './reference/rms_norm_backward.js';
export { linearCrossEntropy, defaultCrossEntropyChunk } from './linear_cross_entropy.js';
export type { LinearCrossEntropyOptions } from './linear_cross_entropy.js';
export { linearCrossEntropyReference } from './reference/linear_cross_entropy.js';
export { adamwStep } from './adamw_step.js';
export type { AdamwStepTensors } from './adamw_step.js';
export type { AdamwStepAttrs } from './adamw_step_signature.js';
export { adamwStepReference } from './reference/adamw_step.js';
export { clipCoefficient } from './clip_coefficient.js';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, fp8ToF32, f32ToFp8 } from './dtype.js';
export type { Float8Format } from './dtype.js';
export { Rng } from './random.js';
export { variableFrom } from './variable_from.js';
export { sumInOrder } from './sum_in_order.js';
export { isolatedGradients, isRecordingGradients } from './recording.js';
export { recordKernels } from './kernel_log.js';
export type { KernelLog } from './kernel_log.js';
export * as init from './init.js';
export type { InitOptions } from './init.js';
export { VERSION } from './version.js';
export { CudaBackend } from './backends/cuda/backend.js';
export type { CudaMemoryInfo, MatmulPrecision } from './backends/cuda/backend.js';
export type { CudaBackendOptions } from './backends/cuda/provider.js';
export { cudaExtension, cudaExtensions, cudaKernel, CudaExtension } from './op/cuda/extension.js';
export type { CudaExtensionAddon, CudaKernelContext } from './op/cuda/extension.js';
export { nativeKernel, nativeQuery } from './op/cuda/native.js';
export type { NativeKind, NativeFields, NativeValue, NativeParams, NativeReturn, NativeFunction, NativeDeclarations } from './op/cuda/native.js';
export type { NativeAddon, NativeSignature, NativeSignatures } from './op/cuda/signature.js';
export { cudaAddonFile, cudaAddonPackage, findCudaAddon, PREBUILT_CUDA_PLATFORMS } from './backends/cuda/addon_path.js';
export type { CudaAddonLookup } from './backends/cuda/addon_path.js';
export { cudaKernelNames } from './backends/cuda/kernels/index.js';

/**
 * WGSL snippets shared by this package's WebGPU kernels: SiLU and its slope and the time step Δ
 * (the workgroup reduction is `wgslWorkgroupReduce` of `@falcon/tensor`).
 */
import type { TensorInfo } from '@falcon/tensor';

/** An empty float32 tensor on the backend (the gradient output of an absent optional input). @internal */
export function emptyTensor(backend: unknown): TensorInfo {
  return (backend as { makeTensorInfo(shape: number[], dtype: 'float32'): TensorInfo }).makeTensorInfo([0], 'float32');
}

/** `silu(v)` and `siluSlope(v)` (the derivative of v·σ(v)). @internal */
export const WGSL_SILU = /* wgsl */ `
fn sigmoidF(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn silu(v: f32) -> f32 { return v * sigmoidF(v); }
fn siluSlope(v: f32) -> f32 { let s = sigmoidF(v); return s * (1.0 + v * (1.0 - s)); }`;

/** Invocations per workgroup (a power of two) for a reduction over `len` elements. @internal */
export function reduceWorkgroupSize(len: number): number {
  return len >= 1024 ? 256 : 64;
}



/**
 * WGSL snippets shared by this package's WebGPU kernels: SiLU and its slope, a workgroup tree sum,
 * and the time step Δ. (A workgroup reduction helper in `@falcon/tensor` would serve every package.)
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

/**
 * `var<workgroup> partial` of WG floats and `workgroupSum(lid)`: every invocation of the workgroup
 * calls it (in uniform control flow) after writing its `partial[lid]`; returns the total.
 * @internal
 */
export const wgslWorkgroupSum = (wg: number) => /* wgsl */ `
const WG: u32 = ${wg}u;
var<workgroup> partial: array<f32, ${wg}>;
fn workgroupSum(lid: i32) -> f32 {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (u32(lid) < s) { partial[lid] = partial[lid] + partial[lid + i32(s)]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}`;

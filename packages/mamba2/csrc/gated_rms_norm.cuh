// Shared device helpers of the group-wise gated RMSNorm kernels (gated_rms_norm.cu,
// gated_rms_norm_backward.cu) and the launchers the bindings call.
//
// Layout: x, z, y, dy, dx, dz `[rows, dim]` (rows = every leading axis), weight and dweight `[dim]`;
// group g of a row is the m = dim / ngroups features [g·m, (g+1)·m). A "team" (a warp when m ≤ 512,
// else a block of 256 threads) normalises one (row, group) at a time; the teams are laid out as
// team = rr · ngroups + g, so a team always handles the same group g, rows rr, rr + R, … (R = teams
// per group). That keeps the backward's dweight partial of a team to one row [R, dim] it owns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace falcon {
namespace mamba2 {
namespace gnorm {

#ifdef __CUDACC__  // device code: the .cu files only (the bindings see the launchers)
/** Threads per block in both modes. */
constexpr int kBlock = 256;
/** Largest group handled by a warp. */
constexpr int kWarpMax = 512;

/** One problem (z may be null). */
struct Problem {
  const float* x;
  const float* w;
  const float* z;
  int64_t rows;
  int dim;
  int ngroups;
  float eps;
  bool normBeforeGate;
};

/** How the (row, group) items are spread over teams. */
struct Plan {
  bool warp;      // a team is a warp (else a block)
  int64_t R;      // teams per group (≤ rows)
  int64_t teams;  // R · ngroups
  unsigned grid;  // blocks of kBlock threads
};

/** The plan for `p` on a device with `sms` SMs (rows ≥ 1, dim ≥ 1). */
Plan plan(const Problem& p, int sms);

/** This thread's team, lane and team size. */
template <bool WARP>
__device__ __forceinline__ void team(int64_t& id, int& lane, int& size) {
  if (WARP) {
    id = ((int64_t)blockIdx.x * kBlock + threadIdx.x) >> 5;
    lane = threadIdx.x & 31;
    size = 32;
  } else {
    id = blockIdx.x;
    lane = threadIdx.x;
    size = kBlock;
  }
}

/** Sum of a and b over the team (every thread gets both). `sh` holds 2 · kBlock / 32 floats. */
template <bool WARP>
__device__ __forceinline__ float2 teamSum(float a, float b, float* sh) {
  for (int o = 16; o > 0; o >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, o);
    b += __shfl_xor_sync(0xffffffffu, b, o);
  }
  if (WARP) return make_float2(a, b);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // `sh` may still be read by the previous call
  if (lane == 0) {
    sh[warp] = a;
    sh[kBlock / 32 + warp] = b;
  }
  __syncthreads();
  a = lane < kBlock / 32 ? sh[lane] : 0.f;
  b = lane < kBlock / 32 ? sh[kBlock / 32 + lane] : 0.f;
  for (int o = 16; o > 0; o >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, o);
    b += __shfl_xor_sync(0xffffffffu, b, o);
  }
  return make_float2(a, b);
}

__device__ __forceinline__ float sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

#endif  // __CUDACC__

}  // namespace gnorm

/** FalconGatedRmsNorm: y `[rows, dim]` (see the header comment). */
cudaError_t launchGatedRmsNorm(cudaStream_t stream, const float* x, const float* w, const float* z, float* y, int64_t rows, int dim, int ngroups,
                               float eps, bool normBeforeGate, int sms);

/** Floats of scratch the backward needs: the dweight partials [R, dim]. */
int64_t gatedRmsNormBackwardScratch(int64_t rows, int dim, int ngroups, int sms);

/** FalconGatedRmsNormBackward: dx, dz (when z) `[rows, dim]` and dweight `[dim]` from dy. */
cudaError_t launchGatedRmsNormBackward(cudaStream_t stream, const float* x, const float* w, const float* z, const float* dy, float* scratch,
                                       float* dx, float* dw, float* dz, int64_t rows, int dim, int ngroups, float eps, bool normBeforeGate,
                                       int sms);

}  // namespace mamba2
}  // namespace falcon

// FalconGatedRmsNorm: group-wise RMSNorm with a SiLU gate (layout and teams: gated_rms_norm.cuh).
// Per (row, group) of m features, with u = x (or x·silu(z) when the gate comes first,
// normBeforeGate false) and r = (Σ u² / m + eps)^(−1/2):
//   y = u · r · weight            (· silu(z) when the gate comes after, normBeforeGate true).
// A team (a warp for m ≤ 512, else a block of 256) reads the group twice: the sum of squares
// (warp shuffles, then shared memory across the block's warps), then the output.
#include <algorithm>

#include "gated_rms_norm.cuh"

namespace falcon {
namespace mamba2 {
namespace gnorm {
namespace {

template <bool WARP>
__global__ void __launch_bounds__(kBlock) forwardKernel(Problem p, int64_t R, float* __restrict__ y) {
  __shared__ float sh[2 * kBlock / 32];
  int64_t id;
  int lane, size;
  team<WARP>(id, lane, size);
  if (id >= R * p.ngroups) return;  // warp-uniform (warp mode) or block-uniform
  const int g = (int)(id % p.ngroups);
  const int m = p.dim / p.ngroups;
  const bool gateFirst = p.z != nullptr && !p.normBeforeGate;
  const bool gateAfter = p.z != nullptr && p.normBeforeGate;
  const float* wg = p.w + (int64_t)g * m;
  for (int64_t row = id / p.ngroups; row < p.rows; row += R) {
    const int64_t off = row * p.dim + (int64_t)g * m;
    float ss = 0.f;
    for (int i = lane; i < m; i += size) {
      float u = p.x[off + i];
      if (gateFirst) {
        const float zi = p.z[off + i];
        u *= zi * sigmoid(zi);
      }
      ss += u * u;
    }
    const float r = rsqrtf(teamSum<WARP>(ss, 0.f, sh).x / m + p.eps);
    for (int i = lane; i < m; i += size) {
      float u = p.x[off + i];
      float zi = 0.f;
      if (p.z != nullptr) zi = p.z[off + i];
      if (gateFirst) u *= zi * sigmoid(zi);
      float v = u * r * wg[i];
      if (gateAfter) v *= zi * sigmoid(zi);
      y[off + i] = v;
    }
  }
}

}  // namespace

Plan plan(const Problem& p, int sms) {
  Plan pl;
  const int m = p.dim / p.ngroups;
  pl.warp = m <= kWarpMax;
  // enough teams to fill the device (8 blocks of 256 threads per SM), spread evenly over the rows
  const int64_t target = (int64_t)sms * (pl.warp ? 8 * kBlock / 32 : 8);
  int64_t R = std::max<int64_t>(1, std::min<int64_t>(p.rows, (target + p.ngroups - 1) / p.ngroups));
  const int64_t per = (p.rows + R - 1) / R;
  pl.R = (p.rows + per - 1) / per;
  pl.teams = pl.R * p.ngroups;
  pl.grid = (unsigned)(pl.warp ? (pl.teams + kBlock / 32 - 1) / (kBlock / 32) : pl.teams);
  return pl;
}

}  // namespace gnorm

cudaError_t launchGatedRmsNorm(cudaStream_t stream, const float* x, const float* w, const float* z, float* y, int64_t rows, int dim, int ngroups,
                               float eps, bool normBeforeGate, int sms) {
  using namespace gnorm;
  if (rows <= 0 || dim <= 0) return cudaSuccess;
  const Problem p{x, w, z, rows, dim, ngroups, eps, normBeforeGate};
  const Plan pl = plan(p, sms);
  if (pl.warp) forwardKernel<true><<<pl.grid, kBlock, 0, stream>>>(p, pl.R, y);
  else forwardKernel<false><<<pl.grid, kBlock, 0, stream>>>(p, pl.R, y);
  return cudaGetLastError();
}

}  // namespace mamba2
}  // namespace falcon

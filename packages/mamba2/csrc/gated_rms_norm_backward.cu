// FalconGatedRmsNormBackward (layout and teams: gated_rms_norm.cuh). Per (row, group), with u the
// normalised input (x, or x·silu(z) when the gate comes first), r = (Σ u² / m + eps)^(−1/2) and
// g the gradient reaching u·r·w (dy, times silu(z) when the gate comes after):
//   dweight += g · u · r,   du = r · (g·w − u · r² · Σ(g·w·u) / m),
//   gate after:  dz = dy · u·r·w · silu'(z);   gate first: dx = du · silu(z), dz = du · x · silu'(z);
//   else dx = du   (silu'(z) = σ(z)·(1 + z·(1 − σ(z)))).
// A team (warp or block, as the forward) does two passes per group: Σu² and Σ g·w·u together,
// then the gradients. dweight: each team adds g·u·r into its own row of a partial [R, dim] in
// scratch (teams are fixed to one group, so no two teams share an address; the first row a
// team handles writes, the next ones add); colSumKernel then sums the R rows per column in a fixed
// order. Deterministic, no atomics.
#include "gated_rms_norm.cuh"

namespace falcon {
namespace mamba2 {
namespace gnorm {
namespace {

template <bool WARP>
__global__ void __launch_bounds__(kBlock) backwardKernel(Problem p, int64_t R, const float* __restrict__ dy, float* __restrict__ dx,
                                                         float* __restrict__ dz, float* __restrict__ partial) {
  __shared__ float sh[2 * kBlock / 32];
  int64_t id;
  int lane, size;
  team<WARP>(id, lane, size);
  if (id >= R * p.ngroups) return;  // warp-uniform (warp mode) or block-uniform
  const int g = (int)(id % p.ngroups);
  const int64_t rr = id / p.ngroups;
  const int m = p.dim / p.ngroups;
  const bool gateFirst = p.z != nullptr && !p.normBeforeGate;
  const bool gateAfter = p.z != nullptr && p.normBeforeGate;
  const float* wg = p.w + (int64_t)g * m;
  float* pw = partial + rr * p.dim + (int64_t)g * m;
  for (int64_t row = rr; row < p.rows; row += R) {
    const int64_t off = row * p.dim + (int64_t)g * m;
    float ss = 0.f, dot = 0.f;
    for (int i = lane; i < m; i += size) {
      float u = p.x[off + i];
      float gi = dy[off + i];
      if (p.z != nullptr) {
        const float zi = p.z[off + i];
        const float s = zi * sigmoid(zi);
        if (gateFirst) u *= s;
        else gi *= s;
      }
      ss += u * u;
      dot += gi * wg[i] * u;
    }
    const float2 sums = teamSum<WARP>(ss, dot, sh);
    const float r = rsqrtf(sums.x / m + p.eps);
    const float c = r * r * sums.y / m;
    for (int i = lane; i < m; i += size) {
      const float xi = p.x[off + i];
      const float wi = wg[i];
      float u = xi, gi = dy[off + i], zi = 0.f, sg = 0.f;
      if (p.z != nullptr) {
        zi = p.z[off + i];
        sg = sigmoid(zi);
      }
      if (gateFirst) u *= zi * sg;
      if (gateAfter) {
        dz[off + i] = gi * u * r * wi * sg * (1.f + zi * (1.f - sg));
        gi *= zi * sg;
      }
      pw[i] = (row == rr ? 0.f : pw[i]) + gi * u * r;
      const float du = r * (gi * wi - u * c);
      if (gateFirst) {
        dx[off + i] = du * zi * sg;
        dz[off + i] = du * xi * sg * (1.f + zi * (1.f - sg));
      } else {
        dx[off + i] = du;
      }
    }
  }
}

// dw[col] = Σ_{q < R} partial[q, col]: 32 columns × 8 lanes per block, lanes summed in shared memory.
__global__ void __launch_bounds__(kBlock) colSumKernel(const float* __restrict__ partial, int64_t R, int dim, float* __restrict__ dw) {
  __shared__ float sh[8][33];
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  const int col = blockIdx.x * 32 + tx;
  float acc = 0.f;
  if (col < dim)
    for (int64_t q = ty; q < R; q += 8) acc += partial[q * dim + col];
  sh[ty][tx] = acc;
  __syncthreads();
  if (ty == 0 && col < dim) {
    float sum = 0.f;
#pragma unroll
    for (int y = 0; y < 8; ++y) sum += sh[y][tx];
    dw[col] = sum;
  }
}

}  // namespace
}  // namespace gnorm

int64_t gatedRmsNormBackwardScratch(int64_t rows, int dim, int ngroups, int sms) {
  if (rows <= 0 || dim <= 0) return 0;
  const gnorm::Problem p{nullptr, nullptr, nullptr, rows, dim, ngroups, 0.f, true};
  return gnorm::plan(p, sms).R * dim;
}

cudaError_t launchGatedRmsNormBackward(cudaStream_t stream, const float* x, const float* w, const float* z, const float* dy, float* scratch,
                                       float* dx, float* dw, float* dz, int64_t rows, int dim, int ngroups, float eps, bool normBeforeGate,
                                       int sms) {
  using namespace gnorm;
  if (dim <= 0) return cudaSuccess;
  if (rows <= 0) return cudaMemsetAsync(dw, 0, (size_t)dim * sizeof(float), stream);
  const Problem p{x, w, z, rows, dim, ngroups, eps, normBeforeGate};
  const Plan pl = plan(p, sms);
  if (pl.warp) backwardKernel<true><<<pl.grid, kBlock, 0, stream>>>(p, pl.R, dy, dx, dz, scratch);
  else backwardKernel<false><<<pl.grid, kBlock, 0, stream>>>(p, pl.R, dy, dx, dz, scratch);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  colSumKernel<<<(unsigned)((dim + 31) / 32), kBlock, 0, stream>>>(scratch, pl.R, dim, dw);
  return cudaGetLastError();
}

}  // namespace mamba2
}  // namespace falcon

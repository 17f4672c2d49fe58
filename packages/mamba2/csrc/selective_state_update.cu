// One decode step of the SSD recurrence (FalconSelectiveStateUpdate), ssd_scan.cuh with l = 1:
// per row (b, head i, p) with Δ = clamp(softplus?(dt + dtBias)) and d = exp(Δ·A):
//   s' = d·s + (Δ·x)·B,  y = (C·s' + D·x)·silu(z).
// Layout: state, newState `[b, h, p, n]`, x, z, y `[b, h, p]`, dt `[b, h]`, B, C `[b, g, n]`.
// A warp per row (grid-stride): the lanes stride over the n entries (coalesced), C·s' by shuffles.
// The step only reads and writes the state once, so it runs at memory speed; its gradient is the
// backward of the scan over one position (ssd_sequential_scan_backward.cu).
#include "ssd_scan.cuh"

namespace falcon {
namespace mamba2 {
namespace ssd {
namespace {

__global__ void selectiveStateUpdateKernel(const float* __restrict__ state, const Inputs in, float* __restrict__ y, float* __restrict__ ns,
                                           const Dims d, const TimeStep ts) {
  const int lane = threadIdx.x & 31;
  const int64_t rows = (int64_t)d.b * d.h * d.p;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += warps) {
    const int64_t bh = row / d.p;
    const int hi = (int)(bh % d.h);
    const int64_t bi = bh / d.h;
    const int gi = hi / (d.h / d.g);
    float delta, slope;
    timeStep(in.dt[bh] + (in.dtBias ? in.dtBias[hi] : 0.f), ts, delta, slope);
    (void)slope;
    const float dec = expf(delta * in.A[hi]);
    const float xv = in.x[row];
    const float u = delta * xv;
    const float* Bg = in.B + (bi * d.g + gi) * d.n;
    const float* Cg = in.C + (bi * d.g + gi) * d.n;
    float acc = 0.f;
    for (int nn = lane; nn < d.n; nn += 32) {
      const int64_t o = row * d.n + nn;
      const float sv = fmaf(dec, state[o], u * Bg[nn]);
      ns[o] = sv;
      acc = fmaf(Cg[nn], sv, acc);
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(kFull, acc, off);
    if (lane == 0) {
      float v = acc;
      if (in.D) v = fmaf(in.D[hi], xv, v);
      if (in.z) v *= silu(in.z[row]);
      y[row] = v;
    }
  }
}

}  // namespace

cudaError_t launchSelectiveStateUpdate(cudaStream_t stream, const float* state, const Inputs& in, float* y, float* newState, const Dims& d,
                                       const TimeStep& ts, int sms) {
  const int64_t rows = (int64_t)d.b * d.h * d.p;
  if (rows == 0 || d.n == 0) return cudaSuccess;
  int64_t blocks = (rows + 7) / 8;
  if (blocks > (int64_t)sms * 16) blocks = (int64_t)sms * 16;
  selectiveStateUpdateKernel<<<(unsigned)blocks, 256, 0, stream>>>(state, in, y, newState, d, ts);
  return cudaGetLastError();
}

}  // namespace ssd
}  // namespace mamba2
}  // namespace falcon

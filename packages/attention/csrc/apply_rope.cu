// RoPE (the FalconApplyRope op), half-split convention: for each token t of batch row b at
// position p = positions[b, t] (or positions[t]), every head and rotary pair (j, j + half):
//   c = cos(p·invFreq_j)·s,  n = ±sin(p·invFreq_j)·s   (s = attentionScaling; − for the inverse)
//   y_j = x_j·c − x_{j+half}·n,   y_{j+half} = x_{j+half}·c + x_j·n;   dims ≥ 2·half pass through.
// The angle is rounded to float32 before cos/sin, as transformers computes it. x, y [B, L, H, D].
// One block per token (grid-stride): the block computes the token's cos/sin once into shared
// memory, then its threads rotate every (head, pair) with coalesced reads. The frequencies travel
// as a kernel argument, kFreqChunk at a time (one launch per chunk; one launch up to headDim 1024).
#include "attention.cuh"

namespace falcon {
namespace attention {
namespace {

constexpr int kFreqChunk = 512;
constexpr int kRopeThreads = 128;

struct Freqs {
  float f[kFreqChunk];
};

__global__ void __launch_bounds__(kRopeThreads) ropeKernel(const float* __restrict__ x, const int* __restrict__ positions, float* __restrict__ y,
                                                           int B, int L, int H, int D, int perBatch, int half, int c0, int cn,
                                                           Freqs fr, float scaling, float sinSign, int copyRest) {
  __shared__ float sCos[kFreqChunk], sSin[kFreqChunk];
  const int64_t tokens = (int64_t)B * L;
  const int rest = D - 2 * half;
  for (int64_t t = blockIdx.x; t < tokens; t += gridDim.x) {
    const float pos = (float)positions[perBatch ? t : t % L];
    __syncthreads();  // the previous token's cos/sin are no longer read
    for (int j = threadIdx.x; j < cn; j += kRopeThreads) {
      float sn, cs;
      sincosf(pos * fr.f[j], &sn, &cs);
      sCos[j] = cs * scaling;
      sSin[j] = sn * sinSign;
    }
    __syncthreads();
    const float* xt = x + t * H * D;
    float* yt = y + t * H * D;
    for (int e = threadIdx.x; e < H * cn; e += kRopeThreads) {
      const int h = e / cn, j = e - h * cn;
      const int o = h * D + c0 + j;
      const float x1 = xt[o], x2 = xt[o + half], cs = sCos[j], sn = sSin[j];
      yt[o] = fmaf(x1, cs, -x2 * sn);
      yt[o + half] = fmaf(x2, cs, x1 * sn);
    }
    if (copyRest) {
      for (int e = threadIdx.x; e < H * rest; e += kRopeThreads) {
        const int h = e / rest, d = 2 * half + (e - h * rest);
        yt[h * D + d] = xt[h * D + d];
      }
    }
  }
}

}  // namespace

void applyRope(cudaStream_t s, const float* x, const int* positions, float* y, int B, int L, int H, int D, bool perBatch,
               const float* invFreq, int half, float scaling, bool inverse) {
  const int64_t tokens = (int64_t)B * L;
  if (tokens * H * D == 0) return;
  const unsigned grid = (unsigned)std::min<int64_t>(tokens, (int64_t)falcon::ext::smCount() * 16);
  for (int c0 = 0; c0 < half; c0 += kFreqChunk) {
    Freqs fr;
    const int cn = std::min(kFreqChunk, half - c0);
    for (int j = 0; j < cn; ++j) fr.f[j] = invFreq[c0 + j];
    ropeKernel<<<grid, kRopeThreads, 0, s>>>(x, positions, y, B, L, H, D, perBatch ? 1 : 0, half, c0, cn, fr, scaling,
                                             inverse ? -scaling : scaling, c0 == 0 ? 1 : 0);
    falcon::ext::checkLaunch("ropeKernel");
  }
}

}  // namespace attention
}  // namespace falcon

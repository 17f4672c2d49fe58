// The FalconAdamwStep op: one AdamW update of one parameter in one pass (PyTorch's AdamW with
// decoupled weight decay), reading p, g, m, v and the optional clip coefficient (a device scalar,
// so clipping needs no read back to the host) and writing p', m', v'. Each operation is rounded
// as the tfjs-ops reference rounds it (explicit _rn intrinsics: no contraction into FMAs, IEEE
// division and square root whatever the compiler flags), so the cuda results equal the cpu ones.
#include "kernels.h"

namespace falcon {
namespace {

__global__ void adamwStepKernel(const float* __restrict__ p, const float* __restrict__ g, const float* __restrict__ m,
                                const float* __restrict__ v, const float* __restrict__ scale, float* __restrict__ pOut,
                                float* __restrict__ mOut, float* __restrict__ vOut, int64_t n, AdamwConstants k) {
  const float s = scale ? *scale : 1.f;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = scale ? __fmul_rn(g[i], s) : g[i];
    const float mi = __fadd_rn(__fmul_rn(m[i], k.b1), __fmul_rn(gi, k.omb1));
    const float vi = __fadd_rn(__fmul_rn(v[i], k.b2), __fmul_rn(__fmul_rn(gi, gi), k.omb2));
    const float den = __fadd_rn(__fsqrt_rn(__fdiv_rn(vi, k.bc2)), k.eps);
    const float update = __fdiv_rn(__fdiv_rn(mi, k.bc1), den);
    const float decayed = k.decayed ? __fmul_rn(p[i], k.decay) : p[i];
    pOut[i] = __fsub_rn(decayed, __fmul_rn(update, k.lr));
    mOut[i] = mi;
    vOut[i] = vi;
  }
}

}  // namespace

void launchAdamwStep(const float* p, const float* g, const float* m, const float* v, const float* scale, float* pOut, float* mOut,
                     float* vOut, int64_t n, const AdamwConstants& k) {
  if (n == 0) return;
  adamwStepKernel<<<gridFor(n), 256, 0, ctx().stream>>>(p, g, m, v, scale, pOut, mOut, vOut, n, k);
  checkLaunch("adamwStepKernel");
}

}  // namespace falcon

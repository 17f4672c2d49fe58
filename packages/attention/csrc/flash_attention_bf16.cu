// Flash attention forward on bf16 tensor cores (the backend's `matmulPrecision` 'bf16'): the
// function of flash_attention.cu (masks, windows, ALiBi, packed sequences, lse) for head dims ≤ 128
// and more than kSplitMaxQueries queries, FlashAttention-2's register form. q·scale, k and v are
// rounded to bf16 (8-bit mantissa) when staged; scores, softmax statistics and the output
// accumulate in float32, P is rounded to bf16 for P·V.
//
// One block of 4 warps per (query tile of 64 rows, batch·head), the last query tiles first. Each
// warp keeps the A fragments of its 16 rows of q·scale, its score tile S (16 × 64) and its output
// O (16 × DMAX) in registers. Per key tile: K (row-major) and V (transposed) staged in shared
// memory; S = Q·Kᵀ; masking and the online softmax on the registers (a row's 64 scores live in the
// 4 lanes of a quad: max and sum by two shuffles); O rescaled by exp(m_old − m_new); O += P·V
// with P's accumulators repacked as the A operand. Shared memory: Q, K [64][DMAX + 8] and Vᵀ
// [DMAX][72] bf16: 27 KB at DMAX 64, 53 KB at 128. Tiles inside the key range of every row of a
// warp, without padding mask or ALiBi, skip the per-element visibility test; exponentials are
// __expf (≤ 2 ulp, far below bf16's rounding).
#include "flash_attention_bf16.cuh"

namespace falcon {
namespace attention {
namespace {

using namespace bf16;

template <int DMAX>
constexpr size_t bf16ForwardSmemBytes() {
  return sizeof(__nv_bfloat16) * (2 * (size_t)BQ * ldRows<DMAX>() + (size_t)DMAX * LDT) + sizeof(float) * BK + sizeof(int) * 2 * BQ;
}

template <int DMAX>
__global__ void __launch_bounds__(kThreadsBf16) bf16ForwardKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                                  const float* __restrict__ v, float* __restrict__ out,
                                                                  float* __restrict__ lse) {
  constexpr int LD = ldRows<DMAX>(), KS = DMAX / 16, NO = DMAX / 8, NS = BK / 8;
  extern __shared__ __align__(16) unsigned char smemBytes[];
  __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smemBytes);  // [BQ][LD]   q·scale
  __nv_bfloat16* sK = sQ + BQ * LD;                                   // [BK][LD]
  __nv_bfloat16* sVt = sK + BK * LD;                                  // [DMAX][LDT]
  float* sKeep = reinterpret_cast<float*>(sVt + DMAX * LDT);          // [BK]
  int* sLo = reinterpret_cast<int*>(sKeep + BK);                      // [BQ]
  int* sHi = sLo + BQ;
  __shared__ int sRange[2];

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;

  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  stage<DMAX>(sQ, LD, nullptr, 0, q + (((int64_t)b * p.L + i0) * p.H + h) * D, qStride, BQ, p.L - i0, D, p.scale);
  if (tid < BQ) {
    int lo = 1, hi = 0;
    if (i0 + tid < p.L) rowRange(p, i0 + tid, lo, hi);
    sLo[tid] = lo, sHi[tid] = hi;
    if (lo <= hi) atomicMin(&sRange[0], lo), atomicMax(&sRange[1], hi);
  }
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  const int r0 = warp * 16;
  // this lane's two rows: r0 + g and r0 + g + 8
  const int lo[2] = {sLo[r0 + g], sLo[r0 + g + 8]}, hi[2] = {sHi[r0 + g], sHi[r0 + g + 8]};
  const int pos[2] = {i0 + r0 + g + p.LK - p.L, i0 + r0 + g + 8 + p.LK - p.L};
  uint32_t qf[KS][4];
#pragma unroll
  for (int kk = 0; kk < KS; ++kk) loadA(qf[kk], sQ, LD, r0, kk * 16, lane);
  float o[NO][4];
#pragma unroll
  for (int n = 0; n < NO; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    __syncthreads();  // the previous tile's K and V are read
    stage<DMAX>(sK, LD, nullptr, 0, kb + j0 * kStride, kStride, BK, nk, D);
    stage<DMAX>(nullptr, 0, sVt, LDT, vb + j0 * kStride, kStride, BK, nk, D);
    if (tid < BK) sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();

    float s[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
#pragma unroll
      for (int n = 0; n < NS; ++n) {
        uint32_t kf[2];
        loadB(kf, sK, LD, n * 8, kk * 16, lane);
        mma(s[n], qf[kk], kf);
      }
    }
    // a tile inside the key range of each of the warp's rows, without padding mask or ALiBi, needs no test
    const int jLast = j0 + BK - 1;
    const bool interior = __all_sync(0xffffffffu, nk == BK && !p.mask && slope == 0.f && lo[0] <= j0 && hi[0] >= jLast && lo[1] <= j0 &&
                                                      hi[1] >= jLast);
    if (!interior) {
#pragma unroll
      for (int n = 0; n < NS; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int rr = e >> 1, c = n * 8 + 2 * t + (e & 1), j = j0 + c;
          const bool ok = j >= lo[rr] && j <= hi[rr] && sKeep[c] != 0.f;
          s[n][e] = ok ? s[n][e] - slope * fabsf((float)(pos[rr] - j)) : -INFINITY;
        }
      }
    }
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < NS; ++n) mx[0] = fmaxf(mx[0], fmaxf(s[n][0], s[n][1])), mx[1] = fmaxf(mx[1], fmaxf(s[n][2], s[n][3]));
    float alpha[2];
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
      mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 1));
      mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 2));
      const float mNew = fmaxf(m[rr], mx[rr]);
      alpha[rr] = mNew == -INFINITY ? 1.f : __expf(m[rr] - mNew);
      m[rr] = mNew;
    }
    float sum[2] = {0.f, 0.f};
#pragma unroll
    for (int n = 0; n < NS; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int rr = e >> 1;
        s[n][e] = m[rr] == -INFINITY ? 0.f : __expf(s[n][e] - m[rr]);
        sum[rr] += s[n][e];
      }
    }
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
      sum[rr] += __shfl_xor_sync(0xffffffffu, sum[rr], 1);
      sum[rr] += __shfl_xor_sync(0xffffffffu, sum[rr], 2);
      l[rr] = l[rr] * alpha[rr] + sum[rr];
    }
#pragma unroll
    for (int n = 0; n < NO; ++n) o[n][0] *= alpha[0], o[n][1] *= alpha[0], o[n][2] *= alpha[1], o[n][3] *= alpha[1];
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      uint32_t pa[4];
      accToA(pa, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        uint32_t vf[2];
        loadB(vf, sVt, LDT, n * 8, kk * 16, lane);
        mma(o[n], pa, vf);
      }
    }
  }

#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int i = i0 + r0 + g + 8 * rr;
    if (i >= p.L) continue;
    const float inv = l[rr] > 0.f ? 1.f / l[rr] : 0.f;
    float* orow = out + (((int64_t)b * p.L + i) * p.H + h) * D;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      const int c = n * 8 + 2 * t;
      if (c < D) orow[c] = o[n][2 * rr] * inv;
      if (c + 1 < D) orow[c + 1] = o[n][2 * rr + 1] * inv;
    }
    if (t == 0) lse[((int64_t)b * p.H + h) * p.L + i] = l[rr] > 0.f ? m[rr] + logf(l[rr]) : -INFINITY;
  }
}

template <int DMAX>
void launchBf16Forward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  constexpr size_t smem = bf16ForwardSmemBytes<DMAX>();
  static bool allowed = false;
  allowSharedMemory(bf16ForwardKernel<DMAX>, smem, allowed);
  const unsigned grid = (unsigned)((p.L + BQ - 1) / BQ) * p.B * p.H;
  bf16ForwardKernel<DMAX><<<grid, kThreadsBf16, smem, s>>>(p, q, k, v, out, lse);
  falcon::ext::checkLaunch("bf16ForwardKernel");
}

}  // namespace

bool useBf16TensorCores(const Problem& p) { return p.bf16 && p.D <= kMaxHeadDimBf16; }

void bf16Forward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  dispatchHeadDimBf16(p.D, [&](auto dm) { launchBf16Forward<decltype(dm)::value>(s, p, q, k, v, out, lse); });
}

}  // namespace attention
}  // namespace falcon

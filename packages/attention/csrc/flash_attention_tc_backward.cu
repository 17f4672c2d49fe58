// Flash attention backward on TF32 tensor cores (matmulPrecision 'tf32'; the function and the
// notation of flash_attention_backward.cu, whose pre-pass computes Δ), head dims ≤ 128.
//
// dk/dv kernel: one block of 4 warps per (key tile of 64, batch·KV head) keeps K and V of its tile
// in shared memory and walks the G query heads of its group and their query tiles that reach the
// tile: S = (q·scale)·Kᵀ and dP = dO·Vᵀ on the tensor cores (each warp 16 query rows), then per
// element P = exp(S − lse) over the visible keys and dS = P·(dP − Δ) written over S and dP, then
// dv += Pᵀ·dO and dk += dSᵀ·(q·scale) with each warp owning 16 key rows, accumulated in registers
// over the whole group (no partial sums, no atomics). The key tiles are scheduled first to last
// (under a causal mask the first ones have the most queries).
// dq kernel: one block per (query tile, batch·head) walks its key tiles as the forward does and
// accumulates dq = scale·dS·K in registers.
// Shared memory: four [64][DMAX + 4] tiles and two [64][68] tiles: 104 KB at DMAX 64, 170 KB at 128.
#include "flash_attention_tc.cuh"

namespace falcon {
namespace attention {
namespace {

using namespace tc;

template <int DMAX>
constexpr size_t tcBackwardSmemBytes() {
  constexpr int LD = DMAX + 4;
  return sizeof(float) * (4 * (size_t)BQ * LD + 2 * (size_t)BQ * LDS + BK + 2 * BQ) + sizeof(int) * 2 * BQ;
}

/** The shared-memory tiles of both kernels. */
template <int DMAX>
struct Tiles {
  static constexpr int LD = DMAX + 4;
  float *sK, *sV, *sQ, *sdO, *sS, *sdP, *sKeep, *sLse, *sDel;
  int *sLo, *sHi;
  __device__ explicit Tiles(float* smem) {
    sK = smem;                  // [BK][LD]
    sV = sK + BK * LD;          // [BK][LD]
    sQ = sV + BK * LD;          // [BQ][LD]  q·scale
    sdO = sQ + BQ * LD;         // [BQ][LD]
    sS = sdO + BQ * LD;         // [BQ][LDS] S, then P
    sdP = sS + BQ * LDS;        // [BQ][LDS] dP, then dS
    sKeep = sdP + BQ * LDS;     // [BK]
    sLse = sKeep + BK;          // [BQ]
    sDel = sLse + BQ;           // [BQ]
    sLo = reinterpret_cast<int*>(sDel + BQ);
    sHi = sLo + BQ;
  }
};

/**
 * S and dP of the warp's 16 query rows against the 64 keys of the tile, then P and dS over them
 * (two lanes per row). `j0` is the tile's first key, `i0` the query tile's first row.
 */
template <int DMAX>
__device__ __forceinline__ void scoresAndGradients(const Problem& p, const Tiles<DMAX>& t, int warp, int lane, int i0, int j0, float slope) {
  constexpr int LD = DMAX + 4;
  {
    FragC s[BK / 16], dp[BK / 16];
    zero(s);
    zero(dp);
    mmaABt(s, t.sQ + warp * 16 * LD, LD, t.sK, LD, DMAX);
    mmaABt(dp, t.sdO + warp * 16 * LD, LD, t.sV, LD, DMAX);
    store(t.sS + warp * 16 * LDS, LDS, s);
    store(t.sdP + warp * 16 * LDS, LDS, dp);
  }
  __syncwarp();
  const int row = warp * 16 + (lane >> 1), half = lane & 1;
  const int lo = t.sLo[row], hi = t.sHi[row], pos = i0 + row + p.LK - p.L;
  const float ls = t.sLse[row], del = t.sDel[row];
  float* sRow = t.sS + row * LDS;
  float* dRow = t.sdP + row * LDS;
  for (int c = half; c < BK; c += 2) {
    const int j = j0 + c;
    const bool ok = j >= lo && j <= hi && t.sKeep[c] != 0.f;
    const float pv = ok ? expf(sRow[c] - slope * fabsf((float)(pos - j)) - ls) : 0.f;
    sRow[c] = pv;
    dRow[c] = pv * (dRow[c] - del);
  }
  __syncwarp();
}

template <int DMAX>
__global__ void __launch_bounds__(kThreadsTc) tcDkvKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                          const float* __restrict__ v, const float* __restrict__ dout,
                                                          const float* __restrict__ lse, const float* __restrict__ delta,
                                                          float* __restrict__ dk, float* __restrict__ dv) {
  constexpr int LD = DMAX + 4, NO = DMAX / 16;
  extern __shared__ __align__(128) float smem[];
  const Tiles<DMAX> t(smem);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int BHK = p.B * p.HK, G = p.H / p.HK;
  const int j0 = (int)(blockIdx.x / BHK) * BK;
  const int b = (int)(blockIdx.x % BHK) / p.HK, kh = (int)(blockIdx.x % BHK) % p.HK;
  const int D = p.D, nk = min(BK, p.LK - j0), jLast = j0 + nk - 1;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const int64_t kvo = (((int64_t)b * p.kvRows + j0) * p.HK + kh) * D;
  loadRows(t.sK, LD, k + kvo, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
  loadRows(t.sV, LD, v + kvo, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
  if (tid < BK) t.sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;

  FragC dK[NO], dV[NO];
  zero(dK);
  zero(dV);
  for (int g = 0; g < G; ++g) {
    const int h = kh * G + g;
    const float slope = p.slopes ? p.slopes[h] : 0.f;
    for (int i0 = 0; i0 < p.L; i0 += BQ) {
      const int nq = min(BQ, p.L - i0);
      int lo0, hi0, lo1, hi1;
      rowRange(p, i0, lo0, hi0);
      rowRange(p, i0 + nq - 1, lo1, hi1);
      if (lo0 > jLast || hi1 < j0) continue;  // no row of the tile reaches these keys (block-uniform)
      __syncthreads();                        // the previous tile's reads are done
      const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
      loadRows(t.sQ, LD, q + qo, qStride, BQ, nq, D, DMAX, p.scale, kThreadsTc);
      loadRows(t.sdO, LD, dout + qo, qStride, BQ, nq, D, DMAX, 1.f, kThreadsTc);
      loadRowInfo(p, b, h, i0, BQ, lse, delta, t.sLo, t.sHi, t.sLse, t.sDel, nullptr);
      __syncthreads();
      scoresAndGradients(p, t, warp, lane, i0, j0, slope);
      __syncthreads();  // every query row's P and dS are in place
      mmaAtB(dV, t.sS + warp * 16, LDS, t.sdO, LD, BQ);
      mmaAtB(dK, t.sdP + warp * 16, LDS, t.sQ, LD, BQ);
    }
  }
  __syncthreads();
  // stage the warp's 16 key rows of dk and dv in the Q and dO tiles, then write the tile's rows
  store(t.sQ + warp * 16 * LD, LD, dK);
  store(t.sdO + warp * 16 * LD, LD, dV);
  __syncthreads();
  for (int e = tid; e < nk * D; e += kThreadsTc) {
    const int r = e / D, d = e - r * D;
    const int64_t o = kvo + (int64_t)r * kStride + d;
    dk[o] = t.sQ[r * LD + d];
    dv[o] = t.sdO[r * LD + d];
  }
}

template <int DMAX>
__global__ void __launch_bounds__(kThreadsTc) tcDqKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                         const float* __restrict__ v, const float* __restrict__ dout,
                                                         const float* __restrict__ lse, const float* __restrict__ delta,
                                                         float* __restrict__ dq) {
  constexpr int LD = DMAX + 4, NO = DMAX / 16;
  extern __shared__ __align__(128) float smem[];
  const Tiles<DMAX> t(smem);
  __shared__ int sRange[2];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D, nq = min(BQ, p.L - i0);
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const int64_t qo = (((int64_t)b * p.L + i0) * p.H + h) * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  loadRows(t.sQ, LD, q + qo, qStride, BQ, nq, D, DMAX, p.scale, kThreadsTc);
  loadRows(t.sdO, LD, dout + qo, qStride, BQ, nq, D, DMAX, 1.f, kThreadsTc);
  loadRowInfo(p, b, h, i0, BQ, lse, delta, t.sLo, t.sHi, t.sLse, t.sDel, sRange);
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;

  FragC dQ[NO];
  zero(dQ);
  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    loadRows(t.sK, LD, kb + j0 * kStride, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
    loadRows(t.sV, LD, vb + j0 * kStride, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
    if (tid < BK) t.sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();
    scoresAndGradients(p, t, warp, lane, i0, j0, slope);
    mmaAB(dQ, t.sdP + warp * 16 * LDS, LDS, t.sK, LD, BK);
    __syncthreads();  // K and V are read: the next tile may overwrite them
  }
  // stage the warp's rows in its part of the Q tile (only this warp reads them), then write
  store(t.sQ + warp * 16 * LD, LD, dQ);
  __syncwarp();
  for (int e = lane; e < 16 * D; e += 32) {
    const int r = warp * 16 + e / D, d = e % D;
    if (r < nq) dq[qo + (int64_t)r * qStride + d] = p.scale * t.sQ[r * LD + d];
  }
}

template <int DMAX>
void launchTcBackward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout, const float* lse,
                      const float* delta, float* dq, float* dk, float* dv) {
  constexpr size_t smem = tcBackwardSmemBytes<DMAX>();
  static bool allowedDkv = false, allowedDq = false;
  allowSharedMemory(tcDkvKernel<DMAX>, smem, allowedDkv);
  allowSharedMemory(tcDqKernel<DMAX>, smem, allowedDq);
  tcDkvKernel<DMAX><<<(unsigned)((p.LK + BK - 1) / BK) * p.B * p.HK, kThreadsTc, smem, s>>>(p, q, k, v, dout, lse, delta, dk, dv);
  falcon::ext::checkLaunch("tcDkvKernel");
  tcDqKernel<DMAX><<<(unsigned)((p.L + BQ - 1) / BQ) * p.B * p.H, kThreadsTc, smem, s>>>(p, q, k, v, dout, lse, delta, dq);
  falcon::ext::checkLaunch("tcDqKernel");
}

}  // namespace

void tensorCoreBackward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout,
                        const float* lse, const float* delta, float* dq, float* dk, float* dv) {
  tc::dispatchHeadDimTc(p.D, [&](auto dm) { launchTcBackward<decltype(dm)::value>(s, p, q, k, v, dout, lse, delta, dq, dk, dv); });
}

}  // namespace attention
}  // namespace falcon

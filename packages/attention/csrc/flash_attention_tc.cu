// Flash attention forward on TF32 tensor cores (the backend's `matmulPrecision` 'tf32'; 'f32' takes
// flash_attention.cu): the function of flash_attention.cu (same masks, windows, ALiBi, packed
// sequences, lse), for head dims ≤ 128 and more than kSplitMaxQueries queries.
//
// One block of 4 warps per (query tile of 64 rows, batch·head), the last query tiles first. q·scale
// is staged once; per key tile: K and V into shared memory, S = Q·Kᵀ on the tensor cores (each warp
// its 16 rows × 64 keys) into shared memory, the online softmax on the warp's rows (two lanes per
// row: running max m and sum l, the output rows rescaled by exp(m_old − m_new), P written over S),
// then O += P·V on the tensor cores with O kept in shared memory (WMMA does not say which row an
// accumulator element belongs to, so the rescaling needs O where rows are addressable).
// Shared memory: Q, K, V, O [64][DMAX + 4] and S [64][68] floats: 88 KB at DMAX 64 (two blocks
// per SM), 153 KB at 128.
#include "flash_attention_tc.cuh"

namespace falcon {
namespace attention {
namespace {

using namespace tc;

template <int DMAX>
constexpr size_t tcForwardSmemBytes() {
  constexpr int LD = DMAX + 4;
  return sizeof(float) * (4 * (size_t)BQ * LD + (size_t)BQ * LDS + BK) + sizeof(int) * 2 * BQ;
}

template <int DMAX>
__global__ void __launch_bounds__(kThreadsTc) tcForwardKernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                                                              const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse) {
  constexpr int LD = DMAX + 4, NO = DMAX / 16;
  extern __shared__ __align__(128) float smem[];
  float* sQ = smem;                 // [BQ][LD]  q·scale
  float* sK = sQ + BQ * LD;         // [BK][LD]
  float* sV = sK + BK * LD;         // [BK][LD]
  float* sO = sV + BK * LD;         // [BQ][LD]  the unnormalised output
  float* sS = sO + BQ * LD;         // [BQ][LDS] scores, then probabilities
  float* sKeep = sS + BQ * LDS;     // [BK]
  int* sLo = reinterpret_cast<int*>(sKeep + BK);
  int* sHi = sLo + BQ;
  __shared__ int sRange[2];

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int BH = p.B * p.H, nTiles = (p.L + BQ - 1) / BQ;
  const int i0 = (nTiles - 1 - (int)(blockIdx.x / BH)) * BQ;
  const int b = (int)(blockIdx.x % BH) / p.H, h = (int)(blockIdx.x % BH) % p.H, kh = h / (p.H / p.HK);
  const int D = p.D;
  const int64_t qStride = (int64_t)p.H * D, kStride = (int64_t)p.HK * D;
  const float* kb = k + ((int64_t)b * p.kvRows * p.HK + kh) * D;
  const float* vb = v + ((int64_t)b * p.kvRows * p.HK + kh) * D;

  if (tid == 0) sRange[0] = INT_MAX, sRange[1] = -1;
  __syncthreads();
  loadRows(sQ, LD, q + (((int64_t)b * p.L + i0) * p.H + h) * D, qStride, BQ, p.L - i0, D, DMAX, p.scale, kThreadsTc);
  for (int e = tid; e < BQ * LD; e += kThreadsTc) sO[e] = 0.f;
  if (tid < BQ) {
    int lo = 1, hi = 0;
    if (i0 + tid < p.L) rowRange(p, i0 + tid, lo, hi);
    sLo[tid] = lo, sHi[tid] = hi;
    if (lo <= hi) atomicMin(&sRange[0], lo), atomicMax(&sRange[1], hi);
  }
  __syncthreads();
  const int jStart = sRange[0], jEnd = sRange[1];
  const float slope = p.slopes ? p.slopes[h] : 0.f;
  // this lane's row (two lanes per row, columns of one parity each)
  const int row = warp * 16 + (lane >> 1), half = lane & 1;
  const int lo = sLo[row], hi = sHi[row], pos = i0 + row + p.LK - p.L;
  float* sRow = sS + row * LDS;
  float* oRow = sO + row * LD;
  float m = -INFINITY, l = 0.f;

  for (int j0 = jEnd < 0 ? 0 : jStart - jStart % BK; j0 <= jEnd; j0 += BK) {
    const int nk = min(BK, p.LK - j0);
    loadRows(sK, LD, kb + j0 * kStride, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
    loadRows(sV, LD, vb + j0 * kStride, kStride, BK, nk, D, DMAX, 1.f, kThreadsTc);
    if (tid < BK) sKeep[tid] = (tid < nk && keyKept(p, b, j0 + tid)) ? 1.f : 0.f;
    __syncthreads();
    {
      FragC s[BK / 16];
      zero(s);
      mmaABt(s, sQ + warp * 16 * LD, LD, sK, LD, DMAX);
      store(sS + warp * 16 * LDS, LDS, s);
    }
    __syncwarp();
    float mx = -INFINITY;
    for (int c = half; c < BK; c += 2) {
      const int j = j0 + c;
      const float x = (j >= lo && j <= hi && sKeep[c] != 0.f) ? sRow[c] - slope * fabsf((float)(pos - j)) : -INFINITY;
      sRow[c] = x;
      mx = fmaxf(mx, x);
    }
    const float mNew = fmaxf(m, fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1)));
    float sum = 0.f;
    for (int c = half; c < BK; c += 2) {
      const float e = mNew == -INFINITY ? 0.f : expf(sRow[c] - mNew);
      sRow[c] = e;
      sum += e;
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    const float alpha = mNew == -INFINITY ? 1.f : expf(m - mNew);
    l = l * alpha + sum;
    m = mNew;
    if (alpha != 1.f)
      for (int d = half; d < DMAX; d += 2) oRow[d] *= alpha;
    __syncwarp();
    {
      FragC o[NO];
#pragma unroll
      for (int n = 0; n < NO; ++n) wmma::load_matrix_sync(o[n], sO + warp * 16 * LD + n * 16, LD, wmma::mem_row_major);
      mmaAB(o, sS + warp * 16 * LDS, LDS, sV, LD, BK);
      store(sO + warp * 16 * LD, LD, o);
    }
    __syncthreads();  // K, V and S are read: the next tile may overwrite them
  }

  const int i = i0 + row;
  if (i < p.L) {
    const float inv = l > 0.f ? 1.f / l : 0.f;
    float* o = out + (((int64_t)b * p.L + i) * p.H + h) * D;
    for (int d = half; d < D; d += 2) o[d] = oRow[d] * inv;
    if (half == 0) lse[((int64_t)b * p.H + h) * p.L + i] = l > 0.f ? m + logf(l) : -INFINITY;
  }
}

template <int DMAX>
void launchTcForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  constexpr size_t smem = tcForwardSmemBytes<DMAX>();
  static bool allowed = false;
  allowSharedMemory(tcForwardKernel<DMAX>, smem, allowed);
  const unsigned grid = (unsigned)((p.L + BQ - 1) / BQ) * p.B * p.H;
  tcForwardKernel<DMAX><<<grid, kThreadsTc, smem, s>>>(p, q, k, v, out, lse);
  falcon::ext::checkLaunch("tcForwardKernel");
}

}  // namespace

bool useTensorCores(const Problem& p) { return p.tf32 && p.D <= kMaxHeadDimTc; }

void tensorCoreForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  tc::dispatchHeadDimTc(p.D, [&](auto dm) { launchTcForward<decltype(dm)::value>(s, p, q, k, v, out, lse); });
}

}  // namespace attention
}  // namespace falcon

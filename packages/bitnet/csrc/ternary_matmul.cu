// ternaryMatmul: y[m, n] = Σ_k x[m, k]·(c[n, k] − 1), x int8 values (held in int32) [M, K], c the
// 2-bit codes of transformers' packed layout: bytes [R = ceil(N/4), K] row-major, byte (r, k)
// holding rows r, r+R, r+2R, r+3R of the weight in bits 0-1, 2-3, 4-5, 6-7; the bytes are read
// from little-endian 32-bit words (byte i = byte i mod 4 of word i/4). Exact int32 arithmetic.
//
// 1. packKernel (a warp per token): x → xq [M, K4 = ceil(K/4)] words of 4 int8 (zero-padded past
//    K) and rowSum[m] = Σ_k x[m, k]. Values outside int8 wrap (the op takes int8 values only).
// 2. y = Σ_k x·c − rowSum: four consecutive bytes of a packed row give, per slot q,
//    (word >> 2q) & 0x03030303 = the codes of weight row r + qR at 4 consecutive k, multiplied
//    with 4 int8 activations by one __dp4a. The weight is never unpacked to memory; a row's 4
//    bytes at any byte offset come from two words and a funnel shift (K need not be a multiple of
//    4; bytes past K meet zero activations).
//    - M ≤ 8 (decode, GEMV; memory-bound on the packed weight): a warp per packed row r, lanes
//      striding over the words of the row (coalesced), TM ∈ {1, 2, 4, 8} tokens per warp, a
//      reduce-scatter of the 4·TM sums over the warp's lanes at the end.
//    - M > 8: 64 tokens × 32 packed rows (128 outputs) per 128-thread block, 16 words (64 k) of
//      xq and of the weight per stage in shared memory; each thread holds 8 tokens × 2 rows × 4
//      slots = 64 accumulators, decodes a weight word in registers (shift + and) and issues 4 dp4a
//      per token. When the tile grid is too small for the GPU, K is split across gridDim.z and the
//      splits add into y (zero-filled first) with integer atomics: exact, so still deterministic.
#include "bitnet.h"

namespace falcon {
namespace bitnet {
namespace {

// The 4 packed bytes starting at byte `b` (any alignment); bytes past the buffer read as 0.
__device__ __forceinline__ uint32_t loadBytes4(const uint32_t* __restrict__ words, int64_t b, int64_t nWords) {
  const int64_t i = b >> 2;
  const int sh = (int)(b & 3);
  const uint32_t lo = i < nWords ? __ldg(words + i) : 0u;
  if (sh == 0) return lo;
  const uint32_t hi = i + 1 < nWords ? __ldg(words + i + 1) : 0u;
  return __funnelshift_r(lo, hi, 8 * sh);
}

// The codes of slot q of 4 packed bytes, one per byte (0…3).
__device__ __forceinline__ int slotCodes(uint32_t w, int q) { return (int)((w >> (2 * q)) & 0x03030303u); }

constexpr int kPackBlock = 256;

__global__ void __launch_bounds__(kPackBlock) packKernel(const int32_t* __restrict__ x, uint32_t* __restrict__ xq, int32_t* __restrict__ rowSum,
                                                         int64_t m, int k, int k4) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < m; row += warps) {
    const int32_t* xr = x + row * k;
    int sum = 0;
    for (int w = lane; w < k4; w += 32) {
      uint32_t word = 0;
#pragma unroll
      for (int b = 0; b < 4; b++) {
        const int j = 4 * w + b;
        const int v = j < k ? (int)(int8_t)xr[j] : 0;
        sum += v;
        word |= (uint32_t)(v & 0xff) << (8 * b);
      }
      xq[row * k4 + w] = word;
    }
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) rowSum[row] = sum;
  }
}

constexpr int kGemvBlock = 256;

// Warp sum of V = 4·TM values per lane (V a power of two ≤ 32), scattered: afterwards lane l < V
// holds in v[0] the warp total of value l (recursive halving: V − 1 + 5 − log2 V shuffles).
template <int V>
__device__ __forceinline__ int warpReduceScatter(int (&v)[V], int lane) {
#pragma unroll
  for (int s = V / 2; s >= 1; s >>= 1) {
    const bool upper = (lane & s) != 0;
#pragma unroll
    for (int i = 0; i < s; i++) {
      const int send = upper ? v[i] : v[i + s];
      const int keep = upper ? v[i + s] : v[i];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, s);
    }
  }
#pragma unroll
  for (int s = V; s < 32; s <<= 1) v[0] += __shfl_xor_sync(0xffffffffu, v[0], s);
  return v[0];
}

template <int TM>
__global__ void __launch_bounds__(kGemvBlock) gemvKernel(const uint32_t* __restrict__ xq, const int32_t* __restrict__ rowSum,
                                                         const uint32_t* __restrict__ words, int32_t* __restrict__ y, int64_t m, int k, int k4,
                                                         int rows, int n, int64_t nWords) {
  const int lane = threadIdx.x & 31;
  const int64_t m0 = (int64_t)blockIdx.y * TM;
  const int warps = gridDim.x * (blockDim.x >> 5);
  for (int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    int acc[4 * TM];  // acc[4·i + q]: token m0 + i, weight row r + qR
#pragma unroll
    for (int i = 0; i < 4 * TM; i++) acc[i] = 0;
    const int64_t rowByte = (int64_t)r * k;
    for (int w = lane; w < k4; w += 32) {
      const uint32_t bytes = loadBytes4(words, rowByte + 4 * w, nWords);
      int c[4];
#pragma unroll
      for (int q = 0; q < 4; q++) c[q] = slotCodes(bytes, q);
#pragma unroll
      for (int i = 0; i < TM; i++) {
        if (m0 + i < m) {
          const int xv = (int)__ldg(xq + (m0 + i) * k4 + w);
#pragma unroll
          for (int q = 0; q < 4; q++) acc[4 * i + q] = __dp4a(xv, c[q], acc[4 * i + q]);
        }
      }
    }
    const int total = warpReduceScatter<4 * TM>(acc, lane);
    if (lane < 4 * TM) {
      const int64_t mm = m0 + lane / 4;
      const int col = r + (lane % 4) * rows;
      if (mm < m && col < n) y[mm * n + col] = total - rowSum[mm];
    }
  }
}

constexpr int kBM = 64;       // tokens per block
constexpr int kBR = 32;       // packed rows per block (4·kBR outputs)
constexpr int kBK4 = 16;      // words of k per stage (64 k)
constexpr int kTM = 8;        // tokens per thread
constexpr int kTR = 2;        // packed rows per thread (kBR / kTR = 16 threads across rows)
constexpr int kTileThreads = (kBM / kTM) * (kBR / kTR);  // 128

__global__ void __launch_bounds__(kTileThreads) tiledKernel(const uint32_t* __restrict__ xq, const int32_t* __restrict__ rowSum,
                                                            const uint32_t* __restrict__ words, int32_t* __restrict__ y, int64_t m, int k,
                                                            int k4, int rows, int n, int64_t nWords, int tilesPerSplit) {
  __shared__ uint32_t xs[kBK4][kBM + 1];
  __shared__ uint32_t ws[kBK4][kBR + 1];
  const int t = threadIdx.x;
  const int tr = t % (kBR / kTR);  // this thread's rows: r0 + tr + 16·j
  const int tm = t / (kBR / kTR);  // this thread's tokens: m0 + 8·tm + i
  const int64_t m0 = (int64_t)blockIdx.x * kBM;
  const int r0 = blockIdx.y * kBR;
  const int split = blockIdx.z;
  const int w0 = split * tilesPerSplit * kBK4;
  const int w1 = min(k4, w0 + tilesPerSplit * kBK4);

  int acc[kTM][kTR][4];
#pragma unroll
  for (int i = 0; i < kTM; i++)
#pragma unroll
    for (int j = 0; j < kTR; j++)
#pragma unroll
      for (int q = 0; q < 4; q++) acc[i][j][q] = 0;

  for (int wt = w0; wt < w1; wt += kBK4) {
#pragma unroll
    for (int p = 0; p < kBM * kBK4 / kTileThreads; p++) {
      const int idx = t + p * kTileThreads;
      const int kk = idx % kBK4, mm = idx / kBK4;
      const int64_t row = m0 + mm;
      const int w = wt + kk;
      xs[kk][mm] = row < m && w < w1 ? __ldg(xq + row * k4 + w) : 0u;
    }
#pragma unroll
    for (int p = 0; p < kBR * kBK4 / kTileThreads; p++) {
      const int idx = t + p * kTileThreads;
      const int kk = idx % kBK4, rr = idx / kBK4;
      const int r = r0 + rr;
      const int w = wt + kk;
      ws[kk][rr] = r < rows && w < w1 ? loadBytes4(words, (int64_t)r * k + 4 * w, nWords) : 0u;
    }
    __syncthreads();
#pragma unroll 4
    for (int kk = 0; kk < kBK4; kk++) {
      int xv[kTM];
#pragma unroll
      for (int i = 0; i < kTM; i++) xv[i] = (int)xs[kk][tm * kTM + i];
#pragma unroll
      for (int j = 0; j < kTR; j++) {
        const uint32_t bytes = ws[kk][tr + j * (kBR / kTR)];
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int c = slotCodes(bytes, q);
#pragma unroll
          for (int i = 0; i < kTM; i++) acc[i][j][q] = __dp4a(xv[i], c, acc[i][j][q]);
        }
      }
    }
    __syncthreads();
  }

  const bool atomic = gridDim.z > 1;
#pragma unroll
  for (int i = 0; i < kTM; i++) {
    const int64_t mm = m0 + tm * kTM + i;
    if (mm >= m) continue;
    const int rs = split == 0 ? rowSum[mm] : 0;
#pragma unroll
    for (int j = 0; j < kTR; j++) {
      const int r = r0 + tr + j * (kBR / kTR);
      if (r >= rows) continue;
#pragma unroll
      for (int q = 0; q < 4; q++) {
        const int col = r + q * rows;
        if (col >= n) continue;
        const int v = acc[i][j][q] - rs;
        if (atomic) {
          atomicAdd(y + mm * n + col, v);
        } else {
          y[mm * n + col] = v;
        }
      }
    }
  }
}

}  // namespace

void launchTernaryMatmul(cudaStream_t stream, const int32_t* x, const uint32_t* words, int32_t* y, uint32_t* xq, int32_t* rowSum, int64_t m,
                         int k, int n, int64_t nWords) {
  if (m <= 0 || k <= 0 || n <= 0) return;
  const int k4 = (k + 3) / 4;
  const int rows = (n + 3) / 4;
  const int sms = smCount();
  {
    const int64_t perBlock = kPackBlock / 32;
    const int64_t blocks = (m + perBlock - 1) / perBlock, cap = (int64_t)sms * 16;
    packKernel<<<(unsigned)(blocks < cap ? blocks : cap), kPackBlock, 0, stream>>>(x, xq, rowSum, m, k, k4);
    checkLaunch("ternaryMatmul packKernel");
  }
  if (m <= kTernaryGemvMaxRows) {
    const int perBlock = kGemvBlock / 32;
    const int tm = m == 1 ? 1 : m == 2 ? 2 : m <= 4 ? 4 : 8;
    dim3 grid((unsigned)((rows + perBlock - 1) / perBlock), (unsigned)((m + tm - 1) / tm));
    switch (tm) {
      case 1:
        gemvKernel<1><<<grid, kGemvBlock, 0, stream>>>(xq, rowSum, words, y, m, k, k4, rows, n, nWords);
        break;
      case 2:
        gemvKernel<2><<<grid, kGemvBlock, 0, stream>>>(xq, rowSum, words, y, m, k, k4, rows, n, nWords);
        break;
      case 4:
        gemvKernel<4><<<grid, kGemvBlock, 0, stream>>>(xq, rowSum, words, y, m, k, k4, rows, n, nWords);
        break;
      default:
        gemvKernel<8><<<grid, kGemvBlock, 0, stream>>>(xq, rowSum, words, y, m, k, k4, rows, n, nWords);
    }
    checkLaunch("ternaryMatmul gemvKernel");
    return;
  }
  const int64_t gx = (m + kBM - 1) / kBM;
  const int gy = (rows + kBR - 1) / kBR;
  const int tiles = (k4 + kBK4 - 1) / kBK4;
  // Split K when the tile grid covers less than two blocks per SM, keeping ≥ 4 stages per split.
  int splits = 1;
  const int64_t blocks = gx * gy;
  if (blocks < 2 * sms) {
    const int64_t want = (2 * sms + blocks - 1) / blocks;
    const int64_t most = tiles / 4 > 1 ? tiles / 4 : 1;
    splits = (int)(want < most ? want : most);
  }
  const int tilesPerSplit = (tiles + splits - 1) / splits;
  splits = (tiles + tilesPerSplit - 1) / tilesPerSplit;
  if (gx > 0x7fffffff || gy > 65535) throw std::runtime_error("ternaryMatmul: too many tokens or output features for one launch");
  if (splits > 1) {
    const cudaError_t e = cudaMemsetAsync(y, 0, (size_t)m * n * sizeof(int32_t), stream);
    if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ternaryMatmul cudaMemsetAsync: ") + cudaGetErrorName(e));
  }
  dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)splits);
  tiledKernel<<<grid, kTileThreads, 0, stream>>>(xq, rowSum, words, y, m, k, k4, rows, n, nWords, tilesPerSplit);
  checkLaunch("ternaryMatmul tiledKernel");
}

}  // namespace bitnet
}  // namespace falcon

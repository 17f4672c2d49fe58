// Launchers of the @falcon/bitnet CUDA kernels (one .cu per op), called by the bindings in
// addon.cpp. Every pointer is device memory of the cuda backend; every launch is queued on `stream`
// and nothing here allocates, synchronises or reads back to the host.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace falcon {
namespace bitnet {

/** `1e-5` as float32: the clamp of both quantisers' denominators (torch's clamp(min=1e-5) on f32). */
constexpr float kEps = 1e-5f;

/** After a launch: a bad launch configuration becomes an Error (execution errors surface at the backend's next sync). */
inline void checkLaunch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + kernel + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

/** Number of SMs of the current device (queried once per process). */
inline int smCount() {
  static int sms = 0;
  if (sms == 0) {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      sms = 0;
      checkLaunch("smCount (cudaDeviceGetAttribute)");  // throws with CUDA's error
    }
  }
  return sms;
}

/**
 * weightQuant (weight_quant.cu): y = {−d, 0, d} with s = 1 / max(mean|W|, 1e-5), d = 1/s, and
 * scale[0] = s. meanAbs: one float, or nullptr to compute mean|W| with `partials` blocks whose
 * float64 partial sums go to `scratch` (`partials` doubles; unused when meanAbs is given).
 */
void launchWeightQuant(cudaStream_t stream, const float* w, const float* meanAbs, float* y, float* scale, double* scratch, int64_t n,
                       int partials);

/**
 * activationQuant / activationQuantInt8 (activation_quant.cu): per row of `d` features,
 * s = 127 / max(max|x|, 1e-5) (or the given absMax[row]), q = clip(round(x·s), −128, 127); writes
 * y = q / s (when y is set) or q as int32 (when q is set), and scale[row] = s.
 */
void launchActivationQuant(cudaStream_t stream, const float* x, const float* absMax, float* y, int32_t* q, float* scale, int64_t rows,
                           int d);

/**
 * ternaryMatmul (ternary_matmul.cu): y[m, n] = Σ_k x[m, k]·(code(n, k) − 1) over the transformers
 * 2-bit layout (`words`: the packed bytes [ceil(n/4), k] as `nWords` little-endian words).
 * Scratch: xq (m · ceil(k/4) words, x packed to int8×4) and rowSum (m ints).
 */
void launchTernaryMatmul(cudaStream_t stream, const int32_t* x, const uint32_t* words, int32_t* y, uint32_t* xq, int32_t* rowSum,
                         int64_t m, int k, int n, int64_t nWords);

/** Largest m the GEMV path of ternaryMatmul takes (from m + 1 on, the tiled kernel runs). */
constexpr int64_t kTernaryGemvMaxRows = 8;

}  // namespace bitnet
}  // namespace falcon

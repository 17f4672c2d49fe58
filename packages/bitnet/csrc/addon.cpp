// The @falcon/bitnet CUDA addon (falcon_bitnet_cuda.node): the kernels of weightQuant
// (weight_quant.cu), activationQuant and activationQuantInt8 (activation_quant.cu) and
// ternaryMatmul (ternary_matmul.cu), run on the tensors and stream of @falcon/tensor's cuda backend
// (<falcon/extension.h>). Each binding takes the stream and one params struct (<falcon/params.h>;
// the TypeScript declarations are in src/kernels/cuda/addon.ts): device pointers (0 = absent
// optional input) and sizes; outputs and scratch come allocated from the TypeScript side.
#include <falcon/extension.h>

#include "bitnet.h"

namespace {

// meanAbs null: mean|W| reduced on the device through `scratch` (`partials` float64 slots).
struct WeightQuantParams {
  const float *w, *meanAbs;
  float *y, *scale;
  double* scratch;
  int64_t n;
  int partials;
  FALCON_PARAMS(w, meanAbs, y, scale, scratch, n, partials)
};

// y (float32, dequantised) or q (int32): the other one is null.
struct ActivationQuantParams {
  const float *x, *absMax;
  float* y;
  int32_t* q;
  float* scale;
  int64_t rows;
  int d;
  FALCON_PARAMS(x, absMax, y, q, scale, rows, d)
};

struct TernaryMatmulParams {
  const int32_t* x;
  const uint32_t* packed;
  int32_t* y;
  uint32_t* xq;
  int32_t* rowSum;
  int64_t m;
  int k, n;
  int64_t nWords;
  FALCON_PARAMS(x, packed, y, xq, rowSum, m, k, n, nWords)
};

void weightQuant(cudaStream_t stream, const WeightQuantParams& p) {
  falcon::bitnet::launchWeightQuant(stream, p.w, p.meanAbs, p.y, p.scale, p.scratch, p.n, p.partials);
}

void activationQuant(cudaStream_t stream, const ActivationQuantParams& p) {
  falcon::bitnet::launchActivationQuant(stream, p.x, p.absMax, p.y, p.q, p.scale, p.rows, p.d);
}

void ternaryMatmul(cudaStream_t stream, const TernaryMatmulParams& p) {
  falcon::bitnet::launchTernaryMatmul(stream, p.x, p.packed, p.y, p.xq, p.rowSum, p.m, p.k, p.n, p.nWords);
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_bitnet_cuda, {
  falcon::ext::bind(env, exports, "weightQuant", weightQuant);
  falcon::ext::bind(env, exports, "activationQuant", activationQuant);
  falcon::ext::bind(env, exports, "ternaryMatmul", ternaryMatmul);
})

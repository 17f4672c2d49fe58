// The @falcon/bitnet CUDA addon (falcon_bitnet_cuda.node): the kernels of weightQuant
// (weight_quant.cu), activationQuant and activationQuantInt8 (activation_quant.cu) and
// ternaryMatmul (ternary_matmul.cu), run on the tensors and stream of @falcon/tensor's cuda backend
// (<falcon/extension.h>). Every argument is a number: the stream, device pointers (0 = absent
// optional input) and sizes; outputs and scratch come allocated from the TypeScript side
// (src/kernels/cuda/).
#include <falcon/extension.h>

#include "bitnet.h"

namespace {

using falcon::ext::Args;

// weightQuant(stream, w, meanAbs | 0, y, scale, scratch | 0, n, partials)
FALCON_EXTENSION_FUNCTION(weightQuant) {
  Args a(info);
  falcon::bitnet::launchWeightQuant(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<float>(3), a.ptr<float>(4),
                                    a.ptr<double>(5), a.i64(6), a.i32(7));
  return info.Env().Undefined();
}

// activationQuant(stream, x, absMax | 0, y | 0, q | 0, scale, rows, d): y (float32) or q (int32)
FALCON_EXTENSION_FUNCTION(activationQuant) {
  Args a(info);
  falcon::bitnet::launchActivationQuant(a.stream(0), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<float>(3), a.ptr<int32_t>(4),
                                        a.ptr<float>(5), a.i64(6), a.i32(7));
  return info.Env().Undefined();
}

// ternaryMatmul(stream, x, packed, y, xq, rowSum, m, k, n, nWords)
FALCON_EXTENSION_FUNCTION(ternaryMatmul) {
  Args a(info);
  falcon::bitnet::launchTernaryMatmul(a.stream(0), a.ptr<const int32_t>(1), a.ptr<const uint32_t>(2), a.ptr<int32_t>(3), a.ptr<uint32_t>(4),
                                      a.ptr<int32_t>(5), a.i64(6), a.i32(7), a.i32(8), a.i64(9));
  return info.Env().Undefined();
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_bitnet_cuda, {
  exports.Set("weightQuant", FALCON_FN(weightQuant));
  exports.Set("activationQuant", FALCON_FN(activationQuant));
  exports.Set("ternaryMatmul", FALCON_FN(ternaryMatmul));
})

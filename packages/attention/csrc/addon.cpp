// The @falcon/attention CUDA addon (falcon_attention_cuda.node): bindings of the attention, RoPE and
// ALiBi kernels (flash_attention.cu, flash_attention_backward.cu, decode_attention.cu,
// apply_rope.cu, alibi_bias.cu) for the tensors and stream of @falcon/tensor's cuda backend. Every
// pointer argument is a device address (0 for an absent optional input); the TypeScript side
// (src/kernels/cuda/) allocates every output and scratch buffer.
//
// An attention problem travels as 16 numbers (`problem` below, ProblemArgs in addon.ts):
//   slopes, keyPaddingMask, maskType, cuSeqlens, nCu, B, L, LK, kvRows, H, HK, D, scale, causal,
//   windowLeft, windowRight
#include <falcon/extension.h>

#include <vector>

#include "attention.h"

namespace {

using falcon::attention::Problem;

Problem readProblem(const falcon::ext::Args& a, size_t i) {
  Problem p;
  p.slopes = a.ptr<const float>(i);
  p.mask = a.ptr<const void>(i + 1);
  p.maskType = a.i32(i + 2);
  p.cu = a.ptr<const int>(i + 3);
  p.nCu = a.i32(i + 4);
  p.B = a.i32(i + 5);
  p.L = a.i32(i + 6);
  p.LK = a.i32(i + 7);
  p.kvRows = a.i32(i + 8);
  p.H = a.i32(i + 9);
  p.HK = a.i32(i + 10);
  p.D = a.i32(i + 11);
  p.scale = a.f32(i + 12);
  p.causal = a.flag(i + 13) ? 1 : 0;
  p.wl = a.i32(i + 14);
  p.wr = a.i32(i + 15);
  if (!p.mask) p.maskType = falcon::attention::kMaskNone;
  if (!p.cu) p.nCu = 0;
  return p;
}

// forwardScratchFloats(...problem) → number
FALCON_EXTENSION_FUNCTION(forwardScratchFloats) {
  falcon::ext::Args a(info);
  return Napi::Number::New(info.Env(), (double)falcon::attention::forwardScratchFloats(readProblem(a, 0)));
}

// forward(stream, q, k, v, out, lse, scratch, ...problem)
FALCON_EXTENSION_FUNCTION(forward) {
  falcon::ext::Args a(info);
  falcon::attention::attentionForward(a.stream(0), readProblem(a, 7), a.ptr<const float>(1), a.ptr<const float>(2), a.ptr<const float>(3),
                                      a.ptr<float>(4), a.ptr<float>(5), a.ptr<float>(6));
  return info.Env().Undefined();
}

// backwardScratchFloats(...problem) → number
FALCON_EXTENSION_FUNCTION(backwardScratchFloats) {
  falcon::ext::Args a(info);
  return Napi::Number::New(info.Env(), (double)falcon::attention::backwardScratchFloats(readProblem(a, 0)));
}

// backward(stream, q, k, v, out, dout, lse, dlse, dq, dk, dv, scratch, ...problem)
FALCON_EXTENSION_FUNCTION(backward) {
  falcon::ext::Args a(info);
  falcon::attention::attentionBackward(a.stream(0), readProblem(a, 12), a.ptr<const float>(1), a.ptr<const float>(2),
                                       a.ptr<const float>(3), a.ptr<const float>(4), a.ptr<const float>(5), a.ptr<const float>(6),
                                       a.ptr<const float>(7), a.ptr<float>(8), a.ptr<float>(9), a.ptr<float>(10), a.ptr<float>(11));
  return info.Env().Undefined();
}

// applyRope(stream, x, positions, y, B, L, H, D, perBatch, invFreq: Float32Array, attentionScaling, inverse)
FALCON_EXTENSION_FUNCTION(applyRope) {
  falcon::ext::Args a(info);
  if (info.Length() <= 9 || !info[9].IsTypedArray() || info[9].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw std::runtime_error("applyRope: argument 9 (invFreq) must be a Float32Array");
  }
  const Napi::Float32Array f = info[9].As<Napi::Float32Array>();
  const std::vector<float> invFreq(f.Data(), f.Data() + f.ElementLength());
  falcon::attention::applyRope(a.stream(0), a.ptr<const float>(1), a.ptr<const int>(2), a.ptr<float>(3), a.i32(4), a.i32(5), a.i32(6),
                               a.i32(7), a.flag(8), invFreq.data(), (int)invFreq.size(), a.f32(10), a.flag(11));
  return info.Env().Undefined();
}

// alibiBias(stream, slopes, bias, H, L, LK)
FALCON_EXTENSION_FUNCTION(alibiBias) {
  falcon::ext::Args a(info);
  falcon::attention::alibiBias(a.stream(0), a.ptr<const float>(1), a.ptr<float>(2), a.i32(3), a.i32(4), a.i32(5));
  return info.Env().Undefined();
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_attention_cuda, {
  exports.Set("forwardScratchFloats", FALCON_FN(forwardScratchFloats));
  exports.Set("forward", FALCON_FN(forward));
  exports.Set("backwardScratchFloats", FALCON_FN(backwardScratchFloats));
  exports.Set("backward", FALCON_FN(backward));
  exports.Set("applyRope", FALCON_FN(applyRope));
  exports.Set("alibiBias", FALCON_FN(alibiBias));
})

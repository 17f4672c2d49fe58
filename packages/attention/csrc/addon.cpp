// The @falcon/attention CUDA addon (falcon_attention_cuda.node): bindings of the attention, RoPE and
// ALiBi kernels (flash_attention.cu, flash_attention_backward.cu, decode_attention.cu,
// apply_rope.cu, alibi_bias.cu) for the tensors and stream of @falcon/tensor's cuda backend. Each
// binding takes the stream and one params struct (<falcon/params.h>; the TypeScript declarations
// are in src/kernels/cuda/addon.ts). Every pointer field is a device address (0 for an absent
// optional input); the TypeScript side allocates every output and scratch buffer.
#include <falcon/extension.h>

#include "attention.h"

// The fields of one attention problem, shared by the four attention functions: the optional
// inputs, the key padding mask's element type, the sizes and the attributes.
#define FALCON_ATTENTION_PROBLEM_MEMBERS                          \
  const float* slopes;                                            \
  const void* keyPaddingMask;                                     \
  int maskType;                                                   \
  const int* cuSeqlens;                                           \
  int nCu, batch, seqlenQ, seqlenK, kvRows, nHeads, nKvHeads, headDim; \
  float scale;                                                    \
  bool causal;                                                    \
  int windowLeft, windowRight;                                    \
  bool bf16;
#define FALCON_ATTENTION_PROBLEM_FIELDS                                                                                         \
  slopes, keyPaddingMask, maskType, cuSeqlens, nCu, batch, seqlenQ, seqlenK, kvRows, nHeads, nKvHeads, headDim, scale, causal, \
      windowLeft, windowRight, bf16

namespace {

using falcon::attention::Problem;

struct ProblemParams {
  FALCON_ATTENTION_PROBLEM_MEMBERS
  FALCON_PARAMS(FALCON_ATTENTION_PROBLEM_FIELDS)
};

struct ForwardParams {
  const float *q, *k, *v;
  float *out, *lse, *scratch;
  FALCON_ATTENTION_PROBLEM_MEMBERS
  FALCON_PARAMS(q, k, v, out, lse, scratch, FALCON_ATTENTION_PROBLEM_FIELDS)
};

struct BackwardParams {
  const float *q, *k, *v, *out, *dout, *lse, *dlse;
  float *dq, *dk, *dv, *scratch;
  FALCON_ATTENTION_PROBLEM_MEMBERS
  FALCON_PARAMS(q, k, v, out, dout, lse, dlse, dq, dk, dv, scratch, FALCON_ATTENTION_PROBLEM_FIELDS)
};

struct ApplyRopeParams {
  const float* x;
  const int* positions;
  float* y;
  int batch, seqlen, heads, headDim;
  bool perBatch;
  falcon::ext::FloatList invFreq;
  float attentionScaling;
  bool inverse;
  FALCON_PARAMS(x, positions, y, batch, seqlen, heads, headDim, perBatch, invFreq, attentionScaling, inverse)
};

struct AlibiBiasParams {
  const float* slopes;
  float* bias;
  int nHeads, seqlenQ, seqlenK;
  FALCON_PARAMS(slopes, bias, nHeads, seqlenQ, seqlenK)
};

template <class P>
Problem problemOf(const P& a) {
  Problem p;
  p.slopes = a.slopes;
  p.mask = a.keyPaddingMask;
  p.maskType = a.maskType;
  p.cu = a.cuSeqlens;
  p.nCu = a.nCu;
  p.B = a.batch;
  p.L = a.seqlenQ;
  p.LK = a.seqlenK;
  p.kvRows = a.kvRows;
  p.H = a.nHeads;
  p.HK = a.nKvHeads;
  p.D = a.headDim;
  p.scale = a.scale;
  p.causal = a.causal ? 1 : 0;
  p.wl = a.windowLeft;
  p.wr = a.windowRight;
  p.bf16 = a.bf16 ? 1 : 0;
  if (!p.mask) p.maskType = falcon::attention::kMaskNone;
  if (!p.cu) p.nCu = 0;
  return p;
}

double forwardScratchFloats(const ProblemParams& p) { return (double)falcon::attention::forwardScratchFloats(problemOf(p)); }

void forward(cudaStream_t stream, const ForwardParams& p) {
  falcon::attention::attentionForward(stream, problemOf(p), p.q, p.k, p.v, p.out, p.lse, p.scratch);
}

double backwardScratchFloats(const ProblemParams& p) { return (double)falcon::attention::backwardScratchFloats(problemOf(p)); }

void backward(cudaStream_t stream, const BackwardParams& p) {
  falcon::attention::attentionBackward(stream, problemOf(p), p.q, p.k, p.v, p.out, p.dout, p.lse, p.dlse, p.dq, p.dk, p.dv, p.scratch);
}

void applyRope(cudaStream_t stream, const ApplyRopeParams& p) {
  falcon::attention::applyRope(stream, p.x, p.positions, p.y, p.batch, p.seqlen, p.heads, p.headDim, p.perBatch, p.invFreq.values.data(),
                               (int)p.invFreq.values.size(), p.attentionScaling, p.inverse);
}

void alibiBias(cudaStream_t stream, const AlibiBiasParams& p) {
  falcon::attention::alibiBias(stream, p.slopes, p.bias, p.nHeads, p.seqlenQ, p.seqlenK);
}

}  // namespace

FALCON_EXTENSION_MODULE(falcon_attention_cuda, {
  falcon::ext::bind(env, exports, "forwardScratchFloats", forwardScratchFloats);
  falcon::ext::bind(env, exports, "forward", forward);
  falcon::ext::bind(env, exports, "backwardScratchFloats", backwardScratchFloats);
  falcon::ext::bind(env, exports, "backward", backward);
  falcon::ext::bind(env, exports, "applyRope", applyRope);
  falcon::ext::bind(env, exports, "alibiBias", alibiBias);
})

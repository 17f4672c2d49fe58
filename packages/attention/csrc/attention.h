// Host-side interface of the @falcon/attention CUDA kernels (the launchers of the .cu files, called
// by the bindings of addon.cpp). Layouts are those of the ops (row-major, float32):
//   q, out, dout  [B, L, H, D]        k, v, dk, dv  [B, kvRows, HK, D] (the first LK rows take part)
//   lse, dlse     [B, H, L]           keyPaddingMask [B, kvRows] (float32, int32 or bool bytes)
//   alibiSlopes   [H]                 cuSeqlens int32 [nCu] (packed sequences, L = LK)
// Query head h reads KV head h / (H / HK). Every launcher only queues work on `stream`; outputs and
// scratch come from the caller (the TypeScript side allocates them from the backend).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace falcon {
namespace attention {

/** Key padding mask element types (`maskType`). */
enum MaskType : int { kMaskNone = 0, kMaskF32 = 1, kMaskI32 = 2, kMaskU8 = 3 };

/** One attention problem: sizes, attributes and the optional inputs (null when absent). */
struct Problem {
  int B, L, LK, kvRows, H, HK, D;
  float scale;
  int causal, wl, wr;    // windows: −1 = unlimited
  const float* slopes;   // ALiBi [H]
  const void* mask;      // [B, kvRows], 0 = masked
  int maskType;          // MaskType
  const int* cu;         // cuSeqlens [nCu]
  int nCu;
  int bf16;              // 1: the bf16 tensor-core kernels where they apply (useBf16TensorCores)
};

/** Largest head dim of the tiled kernels (larger ones take the TypeScript fallback). */
constexpr int kMaxHeadDim = 256;

/** Largest head dim of the bf16 tensor-core kernels (flash_attention_bf16*.cu). */
constexpr int kMaxHeadDimBf16 = 128;
/** Whether the bf16 tensor-core kernels take this problem (p.bf16 and head dim ≤ kMaxHeadDimBf16). */
bool useBf16TensorCores(const Problem& p);
/** The forward on bf16 tensor cores (flash_attention_bf16.cu); the split-KV path is chosen before it. */
void bf16Forward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse);
/**
 * dq, and dk/dv per query head (rows < LK of dkOut, dvOut [B, outRows, H, D]; the caller sums a
 * group's heads when H > HK), on bf16 tensor cores from Δ (flash_attention_bf16_backward.cu).
 */
void bf16Backward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* dout, const float* lse,
                  const float* delta, float* dq, float* dkOut, float* dvOut, int outRows);

/** Scratch floats `attentionForward` needs (0 when it takes the tiled path). */
int64_t forwardScratchFloats(const Problem& p);
/** out, lse from q, k, v; `scratch` holds forwardScratchFloats(p) floats. */
void attentionForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse,
                      float* scratch);

/** Queries per batch row up to which the forward takes the split-KV kernel (decode_attention.cu). */
constexpr int kSplitMaxQueries = 16;
/** Whether `attentionForward` takes the split-KV path. */
bool useSplitForward(const Problem& p);
/** Scratch floats of the split-KV path: per (row, split) the partial output, max and sum. */
int64_t splitScratchFloats(const Problem& p);
/** The split-KV forward (decode_attention.cu). */
void splitForward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse,
                  float* scratch);

/** Scratch floats `attentionBackward` needs. */
int64_t backwardScratchFloats(const Problem& p);
/** dq, dk, dv (dk, dv zero beyond row LK) from q, k, v, out, dout, lse and dlse (null: zeros). */
void attentionBackward(cudaStream_t s, const Problem& p, const float* q, const float* k, const float* v, const float* out,
                       const float* dout, const float* lse, const float* dlse, float* dq, float* dk, float* dv, float* scratch);

/** RoPE of x [B, L, H, D] at positions [B, L] (perBatch) or [L]; `half` frequencies. */
void applyRope(cudaStream_t s, const float* x, const int* positions, float* y, int B, int L, int H, int D, bool perBatch,
               const float* invFreq, int half, float scaling, bool inverse);

/** bias [H, L, LK] = −slope_h · |i + LK − L − j|. */
void alibiBias(cudaStream_t s, const float* slopes, float* bias, int H, int L, int LK);

}  // namespace attention
}  // namespace falcon

// Shared declarations of the @falcon/tensor CUDA addon: dtypes, the device context (one stream),
// error checking, launch geometry and the descriptors the host code passes to the kernels.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace falcon {

// dtypes as the TypeScript side numbers them. bool is stored as one byte (0 or 1).
enum DType : int { F32 = 0, I32 = 1, U8 = 2 };

inline int dtypeBytes(int dt) { return dt == U8 ? 1 : 4; }

// Largest rank the strided kernels take (after merging dimensions that are contiguous together).
constexpr int kMaxDims = 8;

// The device this process uses, its one stream and what the kernels need to know about it.
struct Context {
  bool ready = false;
  int device = 0;
  int sms = 1;
  cudaStream_t stream = nullptr;
};
Context& ctx();

// Throws std::runtime_error naming the call and CUDA's error text.
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
  }
}
#define FALCON_CUDA_CHECK(x) ::falcon::check((x), #x)

// After a kernel launch: reports bad launch configurations at once (execution errors surface at
// the next synchronisation).
inline void checkLaunch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than needed.
inline unsigned gridFor(int64_t n, int block = 256) {
  int64_t blocks = (n + block - 1) / block;
  int64_t cap = (int64_t)ctx().sms * 32;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return (unsigned)blocks;
}

// Output shape and, for each of up to three inputs, its element strides over that shape (0 where
// the input is broadcast). Built on the TypeScript side after merging contiguous dimensions.
struct Broadcast {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[3][kMaxDims] = {};
};

// A general strided gather from one tensor into a contiguous output (transpose, slice,
// strided slice, reverse, pad, tile, broadcast): for output coordinate c along dim k the input
// coordinate is `begin[k] + c * step[k]`, taken modulo `mod[k]` when mod[k] > 0 (tile); outside
// [0, limit[k]) the pad value is written; the input offset is sum(coord * stride[k]).
struct Copy {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t begin[kMaxDims] = {};
  int64_t step[kMaxDims] = {};
  int64_t mod[kMaxDims] = {};
  int64_t limit[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
};

}  // namespace falcon

// Matrix products through cuBLASLt, loaded at run time (dlopen of libcublasLt.so.13, then .so.12)
// so that the addon builds without cuBLAS headers and loads on machines without cuBLAS.
#pragma once
#include <cstdint>
#include <string>

namespace falcon {

// What loading cuBLASLt found.
struct LtStatus {
  bool loaded = false;
  std::string path;   // the file that was opened
  size_t version = 0; // cublasLtGetVersion()
  std::string error;  // when not loaded: every file tried and why it failed
};

// Loads the library once (later calls return the first result).
const LtStatus& loadCublasLt();

// Creates the handle and the workspace on the current device; throws when cuBLASLt is missing.
void initCublasLt();

// Bytes of the workspace cuBLASLt was given (0 before initCublasLt).
size_t cublasLtWorkspaceBytes();

// Row-major float32 batched product, queued on the context's stream:
//   C[b] = op(A[b]) · op(B[b]) with op(A) [M, K], op(B) [K, N], C [M, N] contiguous;
//   A stored [M, K] (or [K, M] when transA), B stored [K, N] (or [N, K] when transB);
//   strideA / strideB are the element distances between batch items (0 broadcasts one matrix).
// tf32: tensor cores with TF32 inputs (CUBLAS_COMPUTE_32F_FAST_TF32); otherwise exact float32.
void matmulF32(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int64_t batch, int64_t strideA,
               int64_t strideB, bool transA, bool transB, bool tf32);

}  // namespace falcon

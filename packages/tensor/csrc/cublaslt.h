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

// How a product rounds its float32 operands (the `precision` field of the addon's matmul; the
// TypeScript MatmulPrecision 'f32' / 'tf32' / 'bf16'). Every mode accumulates in float32.
enum MatmulPrecision : int {
  kMatmulF32 = 0,   // exact float32 (CUBLAS_COMPUTE_32F)
  kMatmulTf32 = 1,  // TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32)
  kMatmulBf16 = 2,  // A and B rounded to bf16 (nearest even) in scratch, bf16 tensor cores, CUBLAS_COMPUTE_32F
};

// Row-major batched product with float32 storage, queued on the context's stream:
//   C[b] = op(A[b]) · op(B[b]) with op(A) [M, K], op(B) [K, N], C [M, N] contiguous;
//   A stored [M, K] (or [K, M] when transA), B stored [K, N] (or [N, K] when transB);
//   strideA / strideB are the element distances between batch items (0 broadcasts one matrix).
// precision: a MatmulPrecision; C is float32 in every mode. Other values throw.
void matmulF32(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int64_t batch, int64_t strideA,
               int64_t strideB, bool transA, bool transB, int precision);

}  // namespace falcon

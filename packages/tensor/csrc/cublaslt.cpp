// cuBLASLt for the @falcon/tensor CUDA addon: the few declarations of its C API this file needs
// (values from cuBLASLt's documented ABI; no cuBLAS header is required to build), the run-time
// loader, and row-major batched float32 products with cached plans (descriptors + algorithm).
#include "cublaslt.h"

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <library_types.h>

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace falcon {
namespace {

// ---- The subset of cublasLt.h / cublas_api.h used here ----
typedef int cublasStatus_t;  // CUBLAS_STATUS_SUCCESS == 0
typedef struct cublasLtContext* cublasLtHandle_t;
typedef struct {
  uint64_t data[8];
} cublasLtMatmulAlgo_t;
typedef struct LtOpaque* cublasLtMatmulDesc_t;
typedef struct LtOpaque* cublasLtMatrixLayout_t;
typedef struct LtOpaque* cublasLtMatmulPreference_t;
typedef struct {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
} cublasLtMatmulHeuristicResult_t;

constexpr int CUBLAS_COMPUTE_32F = 68;
constexpr int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
constexpr int CUBLAS_OP_N = 0;
constexpr int CUBLAS_OP_T = 1;
constexpr int CUBLASLT_MATMUL_DESC_TRANSA = 3;
constexpr int CUBLASLT_MATMUL_DESC_TRANSB = 4;
constexpr int CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5;
constexpr int CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6;
constexpr int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;

struct Api {
  cublasStatus_t (*create)(cublasLtHandle_t*);
  size_t (*getVersion)();
  const char* (*statusString)(cublasStatus_t);
  cublasStatus_t (*descCreate)(cublasLtMatmulDesc_t*, int computeType, cudaDataType scaleType);
  cublasStatus_t (*descSet)(cublasLtMatmulDesc_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*layoutCreate)(cublasLtMatrixLayout_t*, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld);
  cublasStatus_t (*layoutSet)(cublasLtMatrixLayout_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*prefCreate)(cublasLtMatmulPreference_t*);
  cublasStatus_t (*prefSet)(cublasLtMatmulPreference_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*prefDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*heuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                              cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatmulPreference_t, int,
                              cublasLtMatmulHeuristicResult_t*, int*);
  cublasStatus_t (*matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void* alpha, const void* A, cublasLtMatrixLayout_t,
                           const void* B, cublasLtMatrixLayout_t, const void* beta, const void* C, cublasLtMatrixLayout_t,
                           void* D, cublasLtMatrixLayout_t, const cublasLtMatmulAlgo_t*, void* workspace, size_t workspaceSize,
                           cudaStream_t stream);
};

Api api;
LtStatus status;
bool attempted = false;
cublasLtHandle_t handle = nullptr;
void* workspace = nullptr;
const size_t kWorkspaceBytes = size_t(32) << 20;  // what cuBLASLt's docs suggest for Hopper

template <typename F>
bool sym(void* lib, const char* name, F& fn, std::string& err) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) err = std::string("symbol ") + name + " not found";
  return fn != nullptr;
}

std::string statusText(cublasStatus_t s) {
  std::string t = api.statusString ? api.statusString(s) : "";
  return "status " + std::to_string(s) + (t.empty() ? "" : " (" + t + ")");
}

void lt(cublasStatus_t s, const char* what) {
  if (s != 0) throw std::runtime_error(std::string("cuBLASLt ") + what + " failed: " + statusText(s));
}

// One cached product shape: its descriptors and the algorithm the heuristic chose.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
};
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, bool>;
std::map<PlanKey, Plan> plans;

cublasLtMatrixLayout_t layout(uint64_t rows, uint64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  lt(api.layoutCreate(&l, CUDA_R_32F, rows, cols, ld), "MatrixLayoutCreate");
  if (batch > 1) {
    int32_t count = (int32_t)batch;
    lt(api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)), "MatrixLayoutSetAttribute(BATCH_COUNT)");
    lt(api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
       "MatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
  }
  return l;
}

}  // namespace

const LtStatus& loadCublasLt() {
  if (attempted) return status;
  attempted = true;
  std::vector<std::string> names;
  if (const char* p = std::getenv("FALCON_CUBLASLT")) names.push_back(p);
  for (const char* so : {"libcublasLt.so.13", "libcublasLt.so.12"}) {
    names.push_back(so);
    for (const char* dir : {(const char*)std::getenv("CUDA_HOME"), (const char*)std::getenv("CUDA_PATH"), "/usr/local/cuda"}) {
      if (dir && *dir) {
        names.push_back(std::string(dir) + "/lib64/" + so);
        names.push_back(std::string(dir) + "/targets/x86_64-linux/lib/" + so);
      }
    }
  }
  std::string tried;
  for (const std::string& n : names) {
    void* lib = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      tried += "\n  " + n + ": " + (e ? e : "not found");
      continue;
    }
    std::string err;
    bool ok = sym(lib, "cublasLtCreate", api.create, err) && sym(lib, "cublasLtGetVersion", api.getVersion, err) &&
              sym(lib, "cublasLtGetStatusString", api.statusString, err) &&
              sym(lib, "cublasLtMatmulDescCreate", api.descCreate, err) &&
              sym(lib, "cublasLtMatmulDescSetAttribute", api.descSet, err) &&
              sym(lib, "cublasLtMatrixLayoutCreate", api.layoutCreate, err) &&
              sym(lib, "cublasLtMatrixLayoutSetAttribute", api.layoutSet, err) &&
              sym(lib, "cublasLtMatmulPreferenceCreate", api.prefCreate, err) &&
              sym(lib, "cublasLtMatmulPreferenceSetAttribute", api.prefSet, err) &&
              sym(lib, "cublasLtMatmulPreferenceDestroy", api.prefDestroy, err) &&
              sym(lib, "cublasLtMatmulAlgoGetHeuristic", api.heuristic, err) && sym(lib, "cublasLtMatmul", api.matmul, err);
    if (!ok) {
      tried += "\n  " + n + ": " + err;
      dlclose(lib);
      continue;
    }
    status.loaded = true;
    status.path = n;
    status.version = api.getVersion();
    return status;
  }
  status.error = "libcublasLt.so.13 / libcublasLt.so.12 could not be loaded (install the CUDA toolkit's cuBLAS, or put its "
                 "lib64 folder on LD_LIBRARY_PATH, or set FALCON_CUBLASLT to the file); tried:" +
                 tried;
  return status;
}

void initCublasLt() {
  const LtStatus& s = loadCublasLt();
  if (!s.loaded) throw std::runtime_error(s.error);
  if (handle) return;
  lt(api.create(&handle), "Create");
  FALCON_CUDA_CHECK(cudaMalloc(&workspace, kWorkspaceBytes));
}

size_t cublasLtWorkspaceBytes() { return workspace ? kWorkspaceBytes : 0; }

void matmulF32(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int64_t batch, int64_t strideA,
               int64_t strideB, bool transA, bool transB, bool tf32) {
  if (m <= 0 || n <= 0 || batch <= 0) return;
  if (k <= 0) {
    launchFill(F32, c, m * n * batch, 0.0);
    return;
  }
  if (!handle) throw std::runtime_error("cuBLASLt is not initialised");
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's first operand is B's
  // memory, its second A's, and the column-major result [N, M] with ld N is C row-major.
  PlanKey key{m, n, k, batch, strideA, strideB, transA, transB, tf32};
  auto it = plans.find(key);
  if (it == plans.end()) {
    Plan p;
    int compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    lt(api.descCreate(&p.desc, compute, CUDA_R_32F), "MatmulDescCreate");
    int32_t opFirst = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    int32_t opSecond = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    lt(api.descSet(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opFirst, sizeof(opFirst)), "MatmulDescSetAttribute(TRANSA)");
    lt(api.descSet(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opSecond, sizeof(opSecond)), "MatmulDescSetAttribute(TRANSB)");
    // First operand (B's memory): column-major [N, K] (ld N), or [K, N] (ld K) read transposed.
    p.a = transB ? layout(k, n, k, batch, strideB) : layout(n, k, n, batch, strideB);
    // Second operand (A's memory): column-major [K, M] (ld K), or [M, K] (ld M) read transposed.
    p.b = transA ? layout(m, k, m, batch, strideA) : layout(k, m, k, batch, strideA);
    p.c = layout(n, m, n, batch, m * n);
    cublasLtMatmulPreference_t pref = nullptr;
    lt(api.prefCreate(&pref), "MatmulPreferenceCreate");
    uint64_t ws = kWorkspaceBytes;
    lt(api.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)), "MatmulPreferenceSetAttribute");
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    cublasStatus_t hs = api.heuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
    api.prefDestroy(pref);
    lt(hs, "MatmulAlgoGetHeuristic");
    if (found < 1) {
      throw std::runtime_error("cuBLASLt has no algorithm for this product (m " + std::to_string(m) + ", n " +
                               std::to_string(n) + ", k " + std::to_string(k) + ", batch " + std::to_string(batch) + ")");
    }
    p.algo = result.algo;
    it = plans.emplace(key, p).first;
  }
  const Plan& p = it->second;
  const float alpha = 1.f, beta = 0.f;
  lt(api.matmul(handle, p.desc, &alpha, b, p.a, a, p.b, &beta, c, p.c, c, p.c, &p.algo, workspace, kWorkspaceBytes, ctx().stream),
     "Matmul");
}

}  // namespace falcon

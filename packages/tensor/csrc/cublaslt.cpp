// cuBLASLt for the @falcon/tensor CUDA addon: the few declarations of its C API this file needs
// (values from cuBLASLt's documented ABI; no cuBLAS header is required to build), the run-time
// loader, and row-major batched products of float32 tensors with cached plans (descriptors +
// algorithm): exact float32, TF32 tensor cores, or bf16 tensor cores over bf16 copies of the
// operands made in scratch (float32 accumulation and output in every mode).
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
constexpr int CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5;  // uint32_t each, default 256
constexpr int CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6;
constexpr int CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7;
constexpr int CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8;

struct Api {
  cublasStatus_t (*create)(cublasLtHandle_t*);
  size_t (*getVersion)();
  const char* (*statusString)(cublasStatus_t);
  cublasStatus_t (*descCreate)(cublasLtMatmulDesc_t*, int computeType, cudaDataType scaleType);
  cublasStatus_t (*descSet)(cublasLtMatmulDesc_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*descDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*layoutCreate)(cublasLtMatrixLayout_t*, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld);
  cublasStatus_t (*layoutSet)(cublasLtMatrixLayout_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*layoutDestroy)(cublasLtMatrixLayout_t);
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

// One cached product: its descriptors, the algorithm the heuristic chose, and what its operands are.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
  // Operands are bf16 copies. False for a bf16 product means the fallback of planFor: float32
  // copies rounded to bf16, exact float32 product.
  bool bf16 = false;
};
// m, n, k, batch, strideA, strideB, transA, transB, precision, and the byte alignments (at most
// 256) of cuBLASLt's first operand (B's memory), second operand (A's) and C/D.
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, int, uint32_t, uint32_t, uint32_t>;
std::map<PlanKey, Plan> plans;

cublasLtMatrixLayout_t layout(cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  lt(api.layoutCreate(&l, type, rows, cols, ld), "MatrixLayoutCreate");
  if (batch > 1) {
    int32_t count = (int32_t)batch;
    lt(api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)), "MatrixLayoutSetAttribute(BATCH_COUNT)");
    lt(api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
       "MatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
  }
  return l;
}

// The largest power of two ≤ 256 that divides the address.
uint32_t alignmentOf(const void* p) {
  uintptr_t u = (uintptr_t)p;
  uint32_t a = 256;
  while (a > 1 && u % a != 0) a >>= 1;
  return a;
}

// Descriptors and one algorithm for the product of `key` with operands of `operands` type and the
// given compute type. The heuristic is told the operands' real alignments (its default assumes 256
// bytes), so it only offers algorithms that can read them. False (descriptors destroyed, p reset)
// when it offers none.
bool makePlan(const PlanKey& key, cudaDataType operands, int compute, Plan& p) {
  const auto [m, n, k, batch, strideA, strideB, transA, transB, precision, alignFirst, alignSecond, alignC] = key;
  (void)precision;
  lt(api.descCreate(&p.desc, compute, CUDA_R_32F), "MatmulDescCreate");
  int32_t opFirst = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  int32_t opSecond = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  lt(api.descSet(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opFirst, sizeof(opFirst)), "MatmulDescSetAttribute(TRANSA)");
  lt(api.descSet(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opSecond, sizeof(opSecond)), "MatmulDescSetAttribute(TRANSB)");
  // First operand (B's memory): column-major [N, K] (ld N), or [K, N] (ld K) read transposed.
  p.a = transB ? layout(operands, k, n, k, batch, strideB) : layout(operands, n, k, n, batch, strideB);
  // Second operand (A's memory): column-major [K, M] (ld K), or [M, K] (ld M) read transposed.
  p.b = transA ? layout(operands, m, k, m, batch, strideA) : layout(operands, k, m, k, batch, strideA);
  p.c = layout(CUDA_R_32F, n, m, n, batch, m * n);
  cublasLtMatmulPreference_t pref = nullptr;
  lt(api.prefCreate(&pref), "MatmulPreferenceCreate");
  uint64_t ws = kWorkspaceBytes;
  cublasStatus_t ps = api.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  const uint32_t aligns[4] = {alignFirst, alignSecond, alignC, alignC};
  const int alignAttrs[4] = {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                             CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (int i = 0; i < 4 && ps == 0; ++i) ps = api.prefSet(pref, alignAttrs[i], &aligns[i], sizeof(uint32_t));
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  cublasStatus_t hs = ps == 0 ? api.heuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found) : ps;
  api.prefDestroy(pref);
  lt(ps, "MatmulPreferenceSetAttribute");
  lt(hs, "MatmulAlgoGetHeuristic");
  if (found < 1) {
    api.layoutDestroy(p.a);
    api.layoutDestroy(p.b);
    api.layoutDestroy(p.c);
    api.descDestroy(p.desc);
    p = Plan();
    return false;
  }
  p.algo = result.algo;
  p.bf16 = operands == CUDA_R_16BF;
  return true;
}

// The plan of `key`, made on first use. bf16 products whose shape the heuristic has no bf16
// algorithm for fall back to an exact float32 product of bf16-rounded float32 copies: the same
// numbers (bf16 operands, float32 accumulation), slower, never TF32.
const Plan& planFor(const PlanKey& key) {
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  const int precision = std::get<8>(key);
  Plan p;
  bool ok;
  if (precision == kMatmulBf16) {
    ok = makePlan(key, CUDA_R_16BF, CUBLAS_COMPUTE_32F, p);
    if (!ok) ok = makePlan(key, CUDA_R_32F, CUBLAS_COMPUTE_32F, p);
  } else {
    ok = makePlan(key, CUDA_R_32F, precision == kMatmulTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, p);
  }
  if (!ok) {
    throw std::runtime_error("cuBLASLt has no algorithm for this product (m " + std::to_string(std::get<0>(key)) + ", n " +
                             std::to_string(std::get<1>(key)) + ", k " + std::to_string(std::get<2>(key)) + ", batch " +
                             std::to_string(std::get<3>(key)) + ", precision " + std::to_string(precision) + ")");
  }
  return plans.emplace(key, p).first->second;
}

// A block of the caching allocator for the length of one product; given back (stream-ordered: the
// block's next user is queued after this product) when it goes out of scope, also on error.
struct Scratch {
  void* p;
  explicit Scratch(size_t bytes) : p(cacheAlloc(bytes)) {}
  ~Scratch() { cacheFree(p); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Elements a strided batch of `batch` matrices of `size` elements spans.
int64_t spanOf(int64_t batch, int64_t stride, int64_t size) { return stride == 0 ? size : (batch - 1) * stride + size; }

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
              sym(lib, "cublasLtMatmulDescDestroy", api.descDestroy, err) &&
              sym(lib, "cublasLtMatrixLayoutCreate", api.layoutCreate, err) &&
              sym(lib, "cublasLtMatrixLayoutSetAttribute", api.layoutSet, err) &&
              sym(lib, "cublasLtMatrixLayoutDestroy", api.layoutDestroy, err) &&
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
               int64_t strideB, bool transA, bool transB, int precision) {
  if (precision != kMatmulF32 && precision != kMatmulTf32 && precision != kMatmulBf16) {
    throw std::runtime_error("matmul: precision must be 0 (f32), 1 (tf32) or 2 (bf16), got " + std::to_string(precision));
  }
  if (m <= 0 || n <= 0 || batch <= 0) return;
  if (k <= 0) {
    launchFill(F32, c, m * n * batch, 0.0);
    return;
  }
  if (!handle) throw std::runtime_error("cuBLASLt is not initialised");
  const float alpha = 1.f, beta = 0.f;
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's first operand is B's
  // memory, its second A's, and the column-major result [N, M] with ld N is C row-major.
  if (precision != kMatmulBf16) {
    const Plan& p = planFor(PlanKey{m, n, k, batch, strideA, strideB, transA, transB, precision, alignmentOf(b), alignmentOf(a),
                                    alignmentOf(c)});
    lt(api.matmul(handle, p.desc, &alpha, b, p.a, a, p.b, &beta, c, p.c, c, p.c, &p.algo, workspace, kWorkspaceBytes, ctx().stream),
       "Matmul");
    return;
  }
  // bf16: both operands are rounded into scratch blocks of the caching allocator. Its blocks are
  // whole cudaMalloc allocations, 256-byte aligned (checked below), so the plan is keyed with 256
  // for them; leading dimensions and batch strides that are not multiples of 8 elements are in the
  // layouts, and the heuristic picks an algorithm that handles them.
  const Plan& p = planFor(PlanKey{m, n, k, batch, strideA, strideB, transA, transB, precision, 256u, 256u, alignmentOf(c)});
  const int64_t na = spanOf(batch, strideA, m * k), nb = spanOf(batch, strideB, k * n);
  const size_t elem = p.bf16 ? sizeof(uint16_t) : sizeof(float);
  Scratch sa((size_t)na * elem), sb((size_t)nb * elem);
  if (alignmentOf(sa.p) < 256 || alignmentOf(sb.p) < 256) throw std::logic_error("matmul: a scratch block is not 256-byte aligned");
  if (p.bf16) {
    launchToBf16(a, (uint16_t*)sa.p, na);
    launchToBf16(b, (uint16_t*)sb.p, nb);
  } else {
    launchRoundBf16(a, (float*)sa.p, na);
    launchRoundBf16(b, (float*)sb.p, nb);
  }
  lt(api.matmul(handle, p.desc, &alpha, sb.p, p.a, sa.p, p.b, &beta, c, p.c, c, p.c, &p.algo, workspace, kWorkspaceBytes,
                ctx().stream),
     "Matmul");
}

}  // namespace falcon

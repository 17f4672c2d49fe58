// Node-API bindings of the @falcon/tensor CUDA addon (falcon_tensor_cuda.node): probe, device
// start-up, memory (caching allocator, uploads, synchronous and asynchronous reads), events for
// timing, and one function per kernel family. Device pointers travel to JavaScript as numbers
// (they fit in 53 bits, checked on allocation). Every failure is thrown as a JavaScript Error.
// The kernel functions (and the device copies) take one struct of named parameters each
// (<falcon/params.h>; declared on the TypeScript side in src/backends/cuda/addon.ts, compared with
// the `falconSignatures` this module exports when the addon is loaded); the memory and timing
// functions take their one or two arguments directly.
#define NAPI_VERSION 8
#define NAPI_CPP_EXCEPTIONS
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#include <falcon/params.h>
#include <napi.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator.h"
#include "common.h"
#include "cublaslt.h"
#include "kernels.h"

namespace falcon {

Context& ctx() {
  static Context c;
  return c;
}

namespace {

double num(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw std::runtime_error("argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}
int i32(const Napi::CallbackInfo& info, size_t i) { return (int)num(info, i); }
void* ptr(const Napi::CallbackInfo& info, size_t i) { return (void*)(uintptr_t)num(info, i); }

using ext::IntList;

void requireReady() {
  if (!ctx().ready) throw std::runtime_error("the CUDA device is not initialised (call init first)");
}

Napi::Number fromPtr(Napi::Env env, void* p) {
  uintptr_t u = (uintptr_t)p;
  if (u >= (uintptr_t(1) << 53)) throw std::runtime_error("device pointer does not fit in a JavaScript number");
  return Napi::Number::New(env, (double)u);
}

// ---- probe / init ----

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  o.Set("driverVersion", driver);
  o.Set("runtimeVersion", runtime);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    o.Set("deviceCount", 0);
    o.Set("error", std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
    cudaGetLastError();
  } else {
    o.Set("deviceCount", count);
    Napi::Array devs = Napi::Array::New(env, count);
    for (int d = 0; d < count; ++d) {
      cudaDeviceProp p;
      if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
      Napi::Object dev = Napi::Object::New(env);
      dev.Set("index", d);
      dev.Set("name", p.name);
      dev.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
      dev.Set("totalMemory", (double)p.totalGlobalMem);
      dev.Set("multiprocessors", p.multiProcessorCount);
      devs.Set(d, dev);
    }
    o.Set("devices", devs);
  }
  const LtStatus& lt = loadCublasLt();
  Napi::Object l = Napi::Object::New(env);
  l.Set("loaded", lt.loaded);
  if (lt.loaded) {
    l.Set("path", lt.path);
    l.Set("version", (double)lt.version);
  } else {
    l.Set("error", lt.error);
  }
  o.Set("cublasLt", l);
  return o;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int device = info.Length() > 0 ? i32(info, 0) : 0;
  Context& c = ctx();
  if (c.ready && c.device != device) throw std::runtime_error("the addon was already initialised on device " + std::to_string(c.device));
  if (!c.ready) {
    FALCON_CUDA_CHECK(cudaSetDevice(device));
    FALCON_CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
    cudaDeviceProp p;
    FALCON_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    c.device = device;
    c.sms = p.multiProcessorCount;
    initCublasLt();
    c.ready = true;
  }
  cudaDeviceProp p;
  FALCON_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", device);
  o.Set("name", p.name);
  o.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
  o.Set("totalMemory", (double)p.totalGlobalMem);
  o.Set("multiprocessors", p.multiProcessorCount);
  o.Set("cublasLt", loadCublasLt().path);
  o.Set("cublasLtVersion", (double)loadCublasLt().version);
  return o;
}

// stream(): the backend's one stream as a number, for the kernels of package addons
// (include/falcon/extension.h); they queue their work on it.
Napi::Value Stream(const Napi::CallbackInfo& info) {
  requireReady();
  return fromPtr(info.Env(), (void*)ctx().stream);
}

// ---- memory ----

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  requireReady();
  return fromPtr(info.Env(), deviceAllocator().allocate((size_t)num(info, 0)));
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  requireReady();
  deviceAllocator().release(ptr(info, 0));
  return info.Env().Undefined();
}

Napi::Object statsObject(Napi::Env env, const AllocatorStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("inUse", (double)s.inUse);
  o.Set("requested", (double)s.requested);
  o.Set("cached", (double)s.cached);
  o.Set("peakInUse", (double)s.peakInUse);
  o.Set("liveBlocks", (double)s.liveBlocks);
  o.Set("cachedBlocks", (double)s.cachedBlocks);
  o.Set("driverAllocs", (double)s.driverAllocs);
  o.Set("driverFrees", (double)s.driverFrees);
  o.Set("cacheHits", (double)s.cacheHits);
  o.Set("oomRetries", (double)s.oomRetries);
  return o;
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", statsObject(env, deviceAllocator().stats()));
  o.Set("pinned", statsObject(env, hostAllocator().stats()));
  o.Set("workspace", (double)cublasLtWorkspaceBytes());
  if (ctx().ready) {
    size_t freeB = 0, totalB = 0;
    if (cudaMemGetInfo(&freeB, &totalB) == cudaSuccess) {
      o.Set("driverFree", (double)freeB);
      o.Set("driverTotal", (double)totalB);
    }
  }
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  requireReady();
  FALCON_CUDA_CHECK(cudaStreamSynchronize(ctx().stream));
  deviceAllocator().emptyCache();
  hostAllocator().emptyCache();
  return info.Env().Undefined();
}

// resetPeakMemory(): the device allocator's peakInUse restarts from the bytes in use now.
Napi::Value ResetPeakMemory(const Napi::CallbackInfo& info) {
  deviceAllocator().resetPeak();
  return info.Env().Undefined();
}

// upload(ptr, view): queues a copy of a typed array (or DataView) to device memory. The bytes are
// staged by the driver before the call returns, so the array may be changed afterwards.
Napi::Value Upload(const Napi::CallbackInfo& info) {
  requireReady();
  if (info.Length() < 2 || !info[1].IsTypedArray()) throw std::runtime_error("upload: argument 1 must be a typed array");
  Napi::TypedArray t = info[1].As<Napi::TypedArray>();
  size_t bytes = t.ByteLength();
  if (bytes == 0) return info.Env().Undefined();
  const uint8_t* src = (const uint8_t*)t.ArrayBuffer().Data() + t.ByteOffset();
  FALCON_CUDA_CHECK(cudaMemcpyAsync(ptr(info, 0), src, bytes, cudaMemcpyHostToDevice, ctx().stream));
  return info.Env().Undefined();
}

// download(ptr, view): waits for the queued work, then copies device memory into the typed array.
Napi::Value Download(const Napi::CallbackInfo& info) {
  requireReady();
  if (info.Length() < 2 || !info[1].IsTypedArray()) throw std::runtime_error("download: argument 1 must be a typed array");
  Napi::TypedArray t = info[1].As<Napi::TypedArray>();
  size_t bytes = t.ByteLength();
  if (bytes > 0) {
    uint8_t* dst = (uint8_t*)t.ArrayBuffer().Data() + t.ByteOffset();
    FALCON_CUDA_CHECK(cudaMemcpyAsync(dst, ptr(info, 0), bytes, cudaMemcpyDeviceToHost, ctx().stream));
  }
  FALCON_CUDA_CHECK(cudaStreamSynchronize(ctx().stream));
  return info.Env().Undefined();
}

// The asynchronous read: the copy to pinned memory and an event are queued on the stream at once
// (so the read sees exactly the work queued before it); a libuv worker waits for the event without
// blocking the JavaScript thread, and the promise resolves with a fresh ArrayBuffer.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, void* pinned, size_t bytes, cudaEvent_t ev)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), pinned_(pinned), bytes_(bytes), ev_(ev) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    cudaSetDevice(ctx().device);
    cudaError_t e = cudaEventSynchronize(ev_);
    if (e != cudaSuccess) SetError(std::string("CUDA error while reading data back: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
  void OnOK() override {
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(Env(), bytes_);
    if (bytes_) memcpy(ab.Data(), pinned_, bytes_);
    cleanup();
    deferred_.Resolve(ab);
  }
  void OnError(const Napi::Error& e) override {
    cleanup();
    deferred_.Reject(e.Value());
  }

 private:
  void cleanup() {
    cudaEventDestroy(ev_);
    if (pinned_) hostAllocator().release(pinned_);
    pinned_ = nullptr;
  }
  Napi::Promise::Deferred deferred_;
  void* pinned_;
  size_t bytes_;
  cudaEvent_t ev_;
};

Napi::Value DownloadAsync(const Napi::CallbackInfo& info) {
  requireReady();
  size_t bytes = (size_t)num(info, 1);
  void* pinned = bytes ? hostAllocator().allocate(bytes) : nullptr;
  cudaEvent_t ev;
  try {
    if (bytes) FALCON_CUDA_CHECK(cudaMemcpyAsync(pinned, ptr(info, 0), bytes, cudaMemcpyDeviceToHost, ctx().stream));
    FALCON_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming | cudaEventBlockingSync));
    FALCON_CUDA_CHECK(cudaEventRecord(ev, ctx().stream));
  } catch (...) {
    if (pinned) hostAllocator().release(pinned);
    throw;
  }
  ReadWorker* w = new ReadWorker(info.Env(), pinned, bytes, ev);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// copyDevice: a queued copy between two device blocks.
struct CopyDeviceParams {
  const void* src;
  void* dst;
  int64_t bytes;
  FALCON_PARAMS(src, dst, bytes)
};
void CopyDevice(const CopyDeviceParams& p) {
  requireReady();
  if (p.bytes) FALCON_CUDA_CHECK(cudaMemcpyAsync(p.dst, p.src, (size_t)p.bytes, cudaMemcpyDeviceToDevice, ctx().stream));
}

// copy2d: a queued 2-D device copy, `rows` rows of `widthBytes` with the given row pitches (concat pieces).
struct Copy2dParams {
  const void* src;
  int64_t srcPitch;
  void* dst;
  int64_t dstPitch;
  int64_t widthBytes;
  int64_t rows;
  FALCON_PARAMS(src, srcPitch, dst, dstPitch, widthBytes, rows)
};
void Copy2d(const Copy2dParams& p) {
  requireReady();
  if (p.widthBytes && p.rows) {
    FALCON_CUDA_CHECK(cudaMemcpy2DAsync(p.dst, (size_t)p.dstPitch, p.src, (size_t)p.srcPitch, (size_t)p.widthBytes, (size_t)p.rows,
                                        cudaMemcpyDeviceToDevice, ctx().stream));
  }
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  requireReady();
  FALCON_CUDA_CHECK(cudaStreamSynchronize(ctx().stream));
  return info.Env().Undefined();
}

// ---- events (timing) ----

std::unordered_map<int, cudaEvent_t> events;
int nextEvent = 1;

Napi::Value EventRecord(const Napi::CallbackInfo& info) {
  requireReady();
  cudaEvent_t ev;
  FALCON_CUDA_CHECK(cudaEventCreate(&ev));
  FALCON_CUDA_CHECK(cudaEventRecord(ev, ctx().stream));
  int id = nextEvent++;
  events[id] = ev;
  return Napi::Number::New(info.Env(), id);
}

// eventElapsed(start, end): waits for `end`, returns the milliseconds between the two events and
// destroys both.
Napi::Value EventElapsed(const Napi::CallbackInfo& info) {
  requireReady();
  int a = i32(info, 0), b = i32(info, 1);
  auto ia = events.find(a), ib = events.find(b);
  if (ia == events.end() || ib == events.end()) throw std::runtime_error("eventElapsed: unknown event");
  FALCON_CUDA_CHECK(cudaEventSynchronize(ib->second));
  float ms = 0;
  cudaError_t e = cudaEventElapsedTime(&ms, ia->second, ib->second);
  cudaEventDestroy(ia->second);
  cudaEventDestroy(ib->second);
  events.erase(a);
  events.erase(b);
  check(e, "cudaEventElapsedTime");
  return Napi::Number::New(info.Env(), ms);
}

// ---- kernels ----
// One params struct per kernel (field names are those of the TypeScript declarations); each
// binding validates its struct (ext::unpack) before it checks the device or queues anything.

// Shape and up to three inputs' strides of a strided element-wise call (mode 1).
Broadcast broadcastFrom(const IntList& shape, std::initializer_list<const IntList*> strides) {
  Broadcast d;
  if (shape.size > kMaxDims) throw std::runtime_error("too many dimensions after merging (max " + std::to_string(kMaxDims) + ")");
  d.rank = shape.size;
  for (int k = 0; k < d.rank; ++k) d.shape[k] = shape[k];
  int j = 0;
  for (const IntList* s : strides) {
    if (s->size != shape.size) throw std::runtime_error("strides and shape differ in length");
    for (int k = 0; k < d.rank; ++k) d.stride[j][k] = (*s)[k];
    ++j;
  }
  return d;
}

struct UnaryParams {
  int op, dtIn, dtOut;
  const void* x;
  void* y;
  int64_t n;
  float p0, p1;
  FALCON_PARAMS(op, dtIn, dtOut, x, y, n, p0, p1)
};
void Unary(const UnaryParams& p) {
  requireReady();
  launchUnary(p.op, p.dtIn, p.dtOut, p.x, p.y, p.n, p.p0, p.p1);
}

// mode 0: a, b contiguous with the output's shape (shape and strides empty); 1: strides given.
struct BinaryParams {
  int op, dtIn, dtOut;
  const void* a;
  const void* b;
  void* y;
  int64_t n;
  int mode;
  IntList shape, strideA, strideB;
  FALCON_PARAMS(op, dtIn, dtOut, a, b, y, n, mode, shape, strideA, strideB)
};
void Binary(const BinaryParams& p) {
  requireReady();
  Broadcast d = p.mode ? broadcastFrom(p.shape, {&p.strideA, &p.strideB}) : Broadcast();
  launchBinary(p.op, p.dtIn, p.dtOut, p.a, p.b, p.y, d, p.n, p.mode);
}

struct SelectParams {
  int dt;
  const uint8_t* cond;
  const void* t;
  const void* e;
  void* y;
  int64_t n;
  int mode;
  IntList shape, strideCond, strideT, strideE;
  FALCON_PARAMS(dt, cond, t, e, y, n, mode, shape, strideCond, strideT, strideE)
};
void Select(const SelectParams& p) {
  requireReady();
  Broadcast d = p.mode ? broadcastFrom(p.shape, {&p.strideCond, &p.strideT, &p.strideE}) : Broadcast();
  launchSelect(p.dt, p.cond, p.t, p.e, p.y, d, p.n, p.mode);
}

struct CastParams {
  int dtIn, dtOut;
  const void* x;
  void* y;
  int64_t n;
  FALCON_PARAMS(dtIn, dtOut, x, y, n)
};
void Cast(const CastParams& p) {
  requireReady();
  launchCast(p.dtIn, p.dtOut, p.x, p.y, p.n);
}

struct FillParams {
  int dt;
  void* y;
  int64_t n;
  double value;
  FALCON_PARAMS(dt, y, n, value)
};
void Fill(const FillParams& p) {
  requireReady();
  launchFill(p.dt, p.y, p.n, p.value);
}

struct RangeParams {
  int dt;
  void* y;
  int64_t n;
  double start, step;
  FALCON_PARAMS(dt, y, n, start, step)
};
void Range(const RangeParams& p) {
  requireReady();
  launchRange(p.dt, p.y, p.n, p.start, p.step);
}

// The general strided copy (see common.h `Copy`): six lists of the same length.
struct CopyParams {
  int dt;
  const void* x;
  void* y;
  int64_t n;
  double pad;
  IntList shape, begin, step, mod, limit, stride;
  FALCON_PARAMS(dt, x, y, n, pad, shape, begin, step, mod, limit, stride)
};
void CopyStrided(const CopyParams& p) {
  requireReady();
  Copy d;
  if (p.shape.size > kMaxDims) throw std::runtime_error("copy: too many dimensions after merging (max " + std::to_string(kMaxDims) + ")");
  d.rank = p.shape.size;
  for (const IntList* l : {&p.begin, &p.step, &p.mod, &p.limit, &p.stride}) {
    if (l->size != p.shape.size) throw std::runtime_error("copy: descriptor arrays differ in length");
  }
  for (int k = 0; k < d.rank; ++k) {
    d.shape[k] = p.shape[k];
    d.begin[k] = p.begin[k];
    d.step[k] = p.step[k];
    d.mod[k] = p.mod[k];
    d.limit[k] = p.limit[k];
    d.stride[k] = p.stride[k];
  }
  launchCopy(p.dt, p.x, p.y, d, p.n, p.pad);
}

struct Transpose2dParams {
  int dt;
  const void* x;
  void* y;
  int64_t batch, rows, cols;
  FALCON_PARAMS(dt, x, y, batch, rows, cols)
};
void Transpose2d(const Transpose2dParams& p) {
  requireReady();
  launchTranspose2d(p.dt, p.x, p.y, p.batch, p.rows, p.cols);
}

struct GatherParams {
  int dt;
  const void* x;
  const int32_t* idx;
  void* y;
  int64_t batch, outer, dim, slice, nIdx;
  FALCON_PARAMS(dt, x, idx, y, batch, outer, dim, slice, nIdx)
};
void Gather(const GatherParams& p) {
  requireReady();
  launchGather(p.dt, p.x, p.idx, p.y, p.batch, p.outer, p.dim, p.slice, p.nIdx);
}

struct SegmentSumParams {
  int dt;
  const void* x;
  const int32_t* seg;
  void* y;
  int64_t rows, slice, numSegments;
  FALCON_PARAMS(dt, x, seg, y, rows, slice, numSegments)
};
void SegmentSum(const SegmentSumParams& p) {
  requireReady();
  launchSegmentSum(p.dt, p.x, p.seg, p.y, p.rows, p.slice, p.numSegments);
}

struct OneHotParams {
  int dt;
  const int32_t* idx;
  void* y;
  int64_t n, depth;
  double on, off;
  FALCON_PARAMS(dt, idx, y, n, depth, on, off)
};
void OneHot(const OneHotParams& p) {
  requireReady();
  launchOneHot(p.dt, p.idx, p.y, p.n, p.depth, p.on, p.off);
}

struct ReduceParams {
  int op, dt;
  const void* x;
  void* y;
  int64_t outer, r, inner;
  FALCON_PARAMS(op, dt, x, y, outer, r, inner)
};
void Reduce(const ReduceParams& p) {
  requireReady();
  launchReduce(p.op, p.dt, p.dt, p.x, p.y, p.outer, p.r, p.inner);
}

struct ArgReduceParams {
  bool isMax;
  int dt;
  const void* x;
  int32_t* y;
  int64_t outer, r, inner;
  FALCON_PARAMS(isMax, dt, x, y, outer, r, inner)
};
void ArgReduce(const ArgReduceParams& p) {
  requireReady();
  launchArgReduce(p.isMax, p.dt, p.x, p.y, p.outer, p.r, p.inner);
}

struct CumulativeParams {
  bool isProd;
  int dt;
  const void* x;
  void* y;
  int64_t outer, r, inner;
  bool exclusive, reverse;
  FALCON_PARAMS(isProd, dt, x, y, outer, r, inner, exclusive, reverse)
};
void Cumulative(const CumulativeParams& p) {
  requireReady();
  launchCumulative(p.isProd, p.dt, p.x, p.y, p.outer, p.r, p.inner, p.exclusive, p.reverse);
}

struct SoftmaxParams {
  const float* x;
  float* y;
  int64_t rows, cols;
  bool log;
  FALCON_PARAMS(x, y, rows, cols, log)
};
void Softmax(const SoftmaxParams& p) {
  requireReady();
  launchSoftmax(p.x, p.y, p.rows, p.cols, p.log);
}

struct RmsNormParams {
  const float* x;
  const float* w;
  float* y;
  int64_t rows;
  int dim, groups;
  float eps;
  FALCON_PARAMS(x, w, y, rows, dim, groups, eps)
};
void RmsNorm(const RmsNormParams& p) {
  requireReady();
  launchRmsNorm(p.x, p.w, p.y, p.rows, p.dim, p.groups, p.eps);
}

struct RmsNormBackwardParams {
  const float* dy;
  const float* x;
  const float* w;
  float* dx;
  float* dw;
  int64_t rows;
  int dim, groups;
  float eps;
  FALCON_PARAMS(dy, x, w, dx, dw, rows, dim, groups, eps)
};
void RmsNormBackward(const RmsNormBackwardParams& p) {
  requireReady();
  launchRmsNormBackward(p.dy, p.x, p.w, p.dx, p.dw, p.rows, p.dim, p.groups, p.eps);
}

// One AdamW update (adamw_step.cu): p', m', v' from p, g, m, v and the clip coefficient at
// `scale` (nullptr: none); the float32 constants as adamwConstants (adamw_step_signature.ts) gives them.
struct AdamwStepParams {
  const float* p;
  const float* g;
  const float* m;
  const float* v;
  const float* scale;
  float* pOut;
  float* mOut;
  float* vOut;
  int64_t n;
  float b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay;
  FALCON_PARAMS(p, g, m, v, scale, pOut, mOut, vOut, n, b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay)
};
void AdamwStep(const AdamwStepParams& a) {
  requireReady();
  AdamwConstants k{a.b1, a.omb1, a.b2, a.omb2, a.bc1, a.bc2, a.eps, a.lr, a.decay, a.decay != 1.f};
  launchAdamwStep(a.p, a.g, a.m, a.v, a.scale, a.pOut, a.mOut, a.vOut, a.n, k);
}

// Row-major batched product of float32 tensors through cuBLASLt (see cublaslt.h); precision is a
// MatmulPrecision: 0 f32, 1 tf32, 2 bf16.
struct MatmulParams {
  const float* a;
  const float* b;
  float* c;
  int64_t m, n, k, batch, strideA, strideB;
  bool transA, transB;
  int precision;
  FALCON_PARAMS(a, b, c, m, n, k, batch, strideA, strideB, transA, transB, precision)
};
void Matmul(const MatmulParams& p) {
  requireReady();
  matmulF32(p.a, p.b, p.c, p.m, p.n, p.k, p.batch, p.strideA, p.strideB, p.transA, p.transB, p.precision);
}

Napi::Array names(Napi::Env env, const char* const* list, int n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (int i = 0; i < n; ++i) a.Set(i, list[i]);
  return a;
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("stream", Napi::Function::New(env, Stream));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  exports.Set("resetPeakMemory", Napi::Function::New(env, ResetPeakMemory));
  exports.Set("upload", Napi::Function::New(env, Upload));
  exports.Set("download", Napi::Function::New(env, Download));
  exports.Set("downloadAsync", Napi::Function::New(env, DownloadAsync));
  ext::bind(env, exports, "copyDevice", CopyDevice);
  ext::bind(env, exports, "copy2d", Copy2d);
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("eventRecord", Napi::Function::New(env, EventRecord));
  exports.Set("eventElapsed", Napi::Function::New(env, EventElapsed));
  ext::bind(env, exports, "unary", Unary);
  ext::bind(env, exports, "binary", Binary);
  ext::bind(env, exports, "select", Select);
  ext::bind(env, exports, "cast", Cast);
  ext::bind(env, exports, "fill", Fill);
  ext::bind(env, exports, "range", Range);
  ext::bind(env, exports, "copy", CopyStrided);
  ext::bind(env, exports, "transpose2d", Transpose2d);
  ext::bind(env, exports, "gather", Gather);
  ext::bind(env, exports, "segmentSum", SegmentSum);
  ext::bind(env, exports, "oneHot", OneHot);
  ext::bind(env, exports, "reduce", Reduce);
  ext::bind(env, exports, "argReduce", ArgReduce);
  ext::bind(env, exports, "cumulative", Cumulative);
  ext::bind(env, exports, "softmax", Softmax);
  ext::bind(env, exports, "matmul", Matmul);
  ext::bind(env, exports, "rmsNorm", RmsNorm);
  ext::bind(env, exports, "rmsNormBackward", RmsNormBackward);
  ext::bind(env, exports, "adamwStep", AdamwStep);
  exports.Set("unaryOps", names(env, kUnaryNames, kUnaryCount));
  exports.Set("binaryOps", names(env, kBinaryNames, kBinaryCount));
  exports.Set("reduceOps", names(env, kReduceNames, kReduceCount));
  exports.Set("maxDims", kMaxDims);
  return exports;
}

}  // namespace
}  // namespace falcon

static Napi::Object InitFalconTensorCuda(Napi::Env env, Napi::Object exports) { return falcon::Module(env, exports); }

NODE_API_MODULE(falcon_tensor_cuda, InitFalconTensorCuda)

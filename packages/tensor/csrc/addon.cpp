// Node-API bindings of the @falcon/tensor CUDA addon (falcon_tensor_cuda.node): probe, device
// start-up, memory (caching allocator, uploads, synchronous and asynchronous reads), events for
// timing, and one function per kernel family. Device pointers travel to JavaScript as numbers
// (they fit in 53 bits, checked on allocation). Every failure is thrown as a JavaScript Error.
#define NAPI_VERSION 8
#define NAPI_CPP_EXCEPTIONS
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
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
int64_t i64(const Napi::CallbackInfo& info, size_t i) { return (int64_t)num(info, i); }
int i32(const Napi::CallbackInfo& info, size_t i) { return (int)num(info, i); }
bool flag(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && info[i].ToBoolean().Value(); }
void* ptr(const Napi::CallbackInfo& info, size_t i) { return (void*)(uintptr_t)num(info, i); }

std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw std::runtime_error("argument " + std::to_string(i) + " must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> v(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) v[k] = (int64_t)a.Get(k).As<Napi::Number>().DoubleValue();
  return v;
}

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

// Copies between two device blocks (queued).
Napi::Value CopyDevice(const Napi::CallbackInfo& info) {
  requireReady();
  size_t bytes = (size_t)num(info, 2);
  if (bytes) FALCON_CUDA_CHECK(cudaMemcpyAsync(ptr(info, 1), ptr(info, 0), bytes, cudaMemcpyDeviceToDevice, ctx().stream));
  return info.Env().Undefined();
}

// copy2d(src, srcPitch, dst, dstPitch, widthBytes, rows): queued 2-D device copy (concat pieces).
Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  requireReady();
  size_t width = (size_t)num(info, 4), rows = (size_t)num(info, 5);
  if (width && rows) {
    FALCON_CUDA_CHECK(cudaMemcpy2DAsync(ptr(info, 2), (size_t)num(info, 3), ptr(info, 0), (size_t)num(info, 1), width, rows,
                                        cudaMemcpyDeviceToDevice, ctx().stream));
  }
  return info.Env().Undefined();
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

Broadcast broadcastFrom(const Napi::CallbackInfo& info, size_t first, int inputs) {
  Broadcast d;
  std::vector<int64_t> shape = ints(info, first);
  if (shape.size() > (size_t)kMaxDims) throw std::runtime_error("too many dimensions after merging (max " + std::to_string(kMaxDims) + ")");
  d.rank = (int)shape.size();
  for (int k = 0; k < d.rank; ++k) d.shape[k] = shape[k];
  for (int j = 0; j < inputs; ++j) {
    std::vector<int64_t> s = ints(info, first + 1 + j);
    if (s.size() != shape.size()) throw std::runtime_error("strides and shape differ in length");
    for (int k = 0; k < d.rank; ++k) d.stride[j][k] = s[k];
  }
  return d;
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  requireReady();
  launchUnary(i32(info, 0), i32(info, 1), i32(info, 2), ptr(info, 3), ptr(info, 4), i64(info, 5), (float)num(info, 6), (float)num(info, 7));
  return info.Env().Undefined();
}

// binary(op, dtIn, dtOut, a, b, y, n, mode, shape, strideA, strideB)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  requireReady();
  int mode = i32(info, 7);
  Broadcast d = mode ? broadcastFrom(info, 8, 2) : Broadcast();
  launchBinary(i32(info, 0), i32(info, 1), i32(info, 2), ptr(info, 3), ptr(info, 4), ptr(info, 5), d, i64(info, 6), mode);
  return info.Env().Undefined();
}

// select(dt, cond, t, e, y, n, mode, shape, strideCond, strideT, strideE)
Napi::Value Select(const Napi::CallbackInfo& info) {
  requireReady();
  int mode = i32(info, 6);
  Broadcast d = mode ? broadcastFrom(info, 7, 3) : Broadcast();
  launchSelect(i32(info, 0), (const uint8_t*)ptr(info, 1), ptr(info, 2), ptr(info, 3), ptr(info, 4), d, i64(info, 5), mode);
  return info.Env().Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  requireReady();
  launchCast(i32(info, 0), i32(info, 1), ptr(info, 2), ptr(info, 3), i64(info, 4));
  return info.Env().Undefined();
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  requireReady();
  launchFill(i32(info, 0), ptr(info, 1), i64(info, 2), num(info, 3));
  return info.Env().Undefined();
}

Napi::Value Range(const Napi::CallbackInfo& info) {
  requireReady();
  launchRange(i32(info, 0), ptr(info, 1), i64(info, 2), num(info, 3), num(info, 4));
  return info.Env().Undefined();
}

// copy(dt, x, y, n, pad, shape, begin, step, mod, limit, stride)
Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  requireReady();
  Copy d;
  std::vector<int64_t> f[6];
  for (int j = 0; j < 6; ++j) f[j] = ints(info, 5 + j);
  if (f[0].size() > (size_t)kMaxDims) throw std::runtime_error("copy: too many dimensions after merging (max " + std::to_string(kMaxDims) + ")");
  d.rank = (int)f[0].size();
  for (int j = 1; j < 6; ++j) {
    if (f[j].size() != f[0].size()) throw std::runtime_error("copy: descriptor arrays differ in length");
  }
  for (int k = 0; k < d.rank; ++k) {
    d.shape[k] = f[0][k];
    d.begin[k] = f[1][k];
    d.step[k] = f[2][k];
    d.mod[k] = f[3][k];
    d.limit[k] = f[4][k];
    d.stride[k] = f[5][k];
  }
  launchCopy(i32(info, 0), ptr(info, 1), ptr(info, 2), d, i64(info, 3), num(info, 4));
  return info.Env().Undefined();
}

Napi::Value Transpose2d(const Napi::CallbackInfo& info) {
  requireReady();
  launchTranspose2d(i32(info, 0), ptr(info, 1), ptr(info, 2), i64(info, 3), i64(info, 4), i64(info, 5));
  return info.Env().Undefined();
}

// gather(dt, x, idx, y, batch, outer, dim, slice, nIdx)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  requireReady();
  launchGather(i32(info, 0), ptr(info, 1), (const int32_t*)ptr(info, 2), ptr(info, 3), i64(info, 4), i64(info, 5), i64(info, 6),
               i64(info, 7), i64(info, 8));
  return info.Env().Undefined();
}

// segmentSum(dt, x, seg, y, rows, slice, numSegments)
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  requireReady();
  launchSegmentSum(i32(info, 0), ptr(info, 1), (const int32_t*)ptr(info, 2), ptr(info, 3), i64(info, 4), i64(info, 5), i64(info, 6));
  return info.Env().Undefined();
}

// oneHot(dt, idx, y, n, depth, on, off)
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  requireReady();
  launchOneHot(i32(info, 0), (const int32_t*)ptr(info, 1), ptr(info, 2), i64(info, 3), i64(info, 4), num(info, 5), num(info, 6));
  return info.Env().Undefined();
}

// reduce(op, dt, x, y, outer, r, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  requireReady();
  int dt = i32(info, 1);
  launchReduce(i32(info, 0), dt, dt, ptr(info, 2), ptr(info, 3), i64(info, 4), i64(info, 5), i64(info, 6));
  return info.Env().Undefined();
}

// argReduce(isMax, dt, x, y, outer, r, inner)
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  requireReady();
  launchArgReduce(flag(info, 0), i32(info, 1), ptr(info, 2), (int32_t*)ptr(info, 3), i64(info, 4), i64(info, 5), i64(info, 6));
  return info.Env().Undefined();
}

// cumulative(isProd, dt, x, y, outer, r, inner, exclusive, reverse)
Napi::Value Cumulative(const Napi::CallbackInfo& info) {
  requireReady();
  launchCumulative(flag(info, 0), i32(info, 1), ptr(info, 2), ptr(info, 3), i64(info, 4), i64(info, 5), i64(info, 6), flag(info, 7),
                   flag(info, 8));
  return info.Env().Undefined();
}

// softmax(x, y, rows, cols, log)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  requireReady();
  launchSoftmax((const float*)ptr(info, 0), (float*)ptr(info, 1), i64(info, 2), i64(info, 3), flag(info, 4));
  return info.Env().Undefined();
}

// rmsNorm(x, w, y, rows, dim, groups, eps)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  requireReady();
  launchRmsNorm((const float*)ptr(info, 0), (const float*)ptr(info, 1), (float*)ptr(info, 2), i64(info, 3), i32(info, 4), i32(info, 5),
                (float)num(info, 6));
  return info.Env().Undefined();
}

// rmsNormBackward(dy, x, w, dx, dw, rows, dim, groups, eps)
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  requireReady();
  launchRmsNormBackward((const float*)ptr(info, 0), (const float*)ptr(info, 1), (const float*)ptr(info, 2), (float*)ptr(info, 3),
                        (float*)ptr(info, 4), i64(info, 5), i32(info, 6), i32(info, 7), (float)num(info, 8));
  return info.Env().Undefined();
}

// adamwStep(p, g, m, v, scale (0: none), pOut, mOut, vOut, n, b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay)
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  requireReady();
  AdamwConstants k;
  k.b1 = (float)num(info, 9);
  k.omb1 = (float)num(info, 10);
  k.b2 = (float)num(info, 11);
  k.omb2 = (float)num(info, 12);
  k.bc1 = (float)num(info, 13);
  k.bc2 = (float)num(info, 14);
  k.eps = (float)num(info, 15);
  k.lr = (float)num(info, 16);
  k.decay = (float)num(info, 17);
  k.decayed = num(info, 17) != 1.0;
  launchAdamwStep((const float*)ptr(info, 0), (const float*)ptr(info, 1), (const float*)ptr(info, 2), (const float*)ptr(info, 3),
                  (const float*)ptr(info, 4), (float*)ptr(info, 5), (float*)ptr(info, 6), (float*)ptr(info, 7), i64(info, 8), k);
  return info.Env().Undefined();
}

// matmul(a, b, c, m, n, k, batch, strideA, strideB, transA, transB, tf32)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  requireReady();
  matmulF32((const float*)ptr(info, 0), (const float*)ptr(info, 1), (float*)ptr(info, 2), i64(info, 3), i64(info, 4), i64(info, 5),
            i64(info, 6), i64(info, 7), i64(info, 8), flag(info, 9), flag(info, 10), flag(info, 11));
  return info.Env().Undefined();
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
  exports.Set("copyDevice", Napi::Function::New(env, CopyDevice));
  exports.Set("copy2d", Napi::Function::New(env, Copy2d));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("eventRecord", Napi::Function::New(env, EventRecord));
  exports.Set("eventElapsed", Napi::Function::New(env, EventElapsed));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("range", Napi::Function::New(env, Range));
  exports.Set("copy", Napi::Function::New(env, CopyStrided));
  exports.Set("transpose2d", Napi::Function::New(env, Transpose2d));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
  exports.Set("cumulative", Napi::Function::New(env, Cumulative));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward));
  exports.Set("adamwStep", Napi::Function::New(env, AdamwStep));
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

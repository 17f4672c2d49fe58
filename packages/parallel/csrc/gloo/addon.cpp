// The Node-API binding of @falcon/parallel's Gloo addon (build/falcon_parallel_gloo.node):
//   probe() -> { gloo: "0.5.0" }
//   new GlooGroup({ storeHost, storePort, prefix, rank, size, globalRanks, timeoutMs, hostname, iface,
//                   registerLiveness, storeHostRank })
//   g.connect() -> Promise<void>
//   g.allreduce(in, out, op, header, sync)   g.allgather(in, out, header, sync)
//   g.reduceScatter(in, out, op, header, sync)   g.broadcast(in, out, root, header, sync)
//   g.alltoall(in, out, header, sync)   g.barrier(sync)   g.send(in, dst, tag, sync)   g.recv(out, src, tag, sync)
//   g.isend(in, dst, tag) -> handle   g.irecv(out, src, tag) -> handle   g.close()
// `in`/`out` are Float32Array or Int32Array (the same type); `header` a 128-byte Uint8Array
// describing this rank's input (compared across ranks first) or null; with `sync` false the call
// returns a Promise settled on the main thread when the op is done (the op itself runs on the
// group's FIFO thread); with `sync` true it blocks the calling thread until then and throws on
// failure. isend/irecv post the transfer like the async form (it runs on the addon's threads while
// the JavaScript thread computes) and return a handle { wait(), isCompleted() }: wait() blocks the
// calling thread until the transfer is done and throws on failure (the synchronous code of autodiff
// can then overlap a transfer with its compute); a handle must be waited once. Failures are Errors with `op`, `missingRank` (global, -1 when unknown) and `code`
// ('FALCON_COLLECTIVE').
#define NAPI_VERSION 8
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#include <napi.h>

#include <gloo/config.h>
#include <gloo/transport/unbound_buffer.h>
#include <gloo/types.h>

#include <future>
#include <map>
#include <memory>

#include "collectives.h"
#include "group.h"

using namespace falcon::gloo_pg;

namespace {

struct JsTask {
  Task task;
  std::vector<Napi::ObjectReference> refs;
  std::unique_ptr<Napi::Promise::Deferred> deferred;
  std::promise<void> syncDone;
  bool sync = false;
  class GlooGroup* owner = nullptr;
};

Napi::Error toJsError(Napi::Env env, const OpError& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("op", Napi::String::New(env, e.op));
  err.Set("missingRank", Napi::Number::New(env, e.missingRank));
  err.Set("code", Napi::String::New(env, "FALCON_COLLECTIVE"));
  return err;
}

struct Buf {
  void* data;
  size_t n;
  int dtype;
};

Buf typed(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Int32Array");
  auto ta = v.As<Napi::TypedArray>();
  int dtype;
  if (ta.TypedArrayType() == napi_float32_array) dtype = 0;
  else if (ta.TypedArrayType() == napi_int32_array) dtype = 1;
  else throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Int32Array");
  auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return {base, ta.ElementLength(), dtype};
}

ReduceOp parseOp(const Napi::Value& v) {
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "sum") return ReduceOp::Sum;
  if (s == "max") return ReduceOp::Max;
  if (s == "min") return ReduceOp::Min;
  if (s == "prod") return ReduceOp::Prod;
  throw Napi::TypeError::New(v.Env(), "unknown reduce op '" + s + "' (sum, max, min, prod)");
}

class GlooGroup : public Napi::ObjectWrap<GlooGroup> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GlooGroup",
                       {InstanceMethod("connect", &GlooGroup::Connect), InstanceMethod("allreduce", &GlooGroup::Allreduce),
                        InstanceMethod("allgather", &GlooGroup::Allgather), InstanceMethod("reduceScatter", &GlooGroup::ReduceScatter),
                        InstanceMethod("broadcast", &GlooGroup::Broadcast), InstanceMethod("alltoall", &GlooGroup::Alltoall),
                        InstanceMethod("barrier", &GlooGroup::Barrier), InstanceMethod("send", &GlooGroup::Send),
                        InstanceMethod("recv", &GlooGroup::Recv), InstanceMethod("isend", &GlooGroup::Isend),
                        InstanceMethod("irecv", &GlooGroup::Irecv), InstanceMethod("close", &GlooGroup::Close)});
  }

  explicit GlooGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GlooGroup>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "GlooGroup(options): options must be an object");
    auto o = info[0].As<Napi::Object>();
    GroupOptions g;
    g.storeHost = o.Get("storeHost").As<Napi::String>().Utf8Value();
    g.storePort = o.Get("storePort").As<Napi::Number>().Int32Value();
    g.prefix = o.Get("prefix").As<Napi::String>().Utf8Value();
    g.rank = o.Get("rank").As<Napi::Number>().Int32Value();
    g.size = o.Get("size").As<Napi::Number>().Int32Value();
    auto ranks = o.Get("globalRanks").As<Napi::Array>();
    for (uint32_t i = 0; i < ranks.Length(); i++) g.globalRanks.push_back(ranks.Get(i).As<Napi::Number>().Int32Value());
    if ((int)g.globalRanks.size() != g.size || g.rank < 0 || g.rank >= g.size) throw Napi::RangeError::New(env, "GlooGroup: rank/size/globalRanks disagree");
    g.timeoutMs = o.Get("timeoutMs").As<Napi::Number>().Int64Value();
    if (o.Has("hostname") && o.Get("hostname").IsString()) g.hostname = o.Get("hostname").As<Napi::String>().Utf8Value();
    if (o.Has("iface") && o.Get("iface").IsString()) g.iface = o.Get("iface").As<Napi::String>().Utf8Value();
    g.registerLiveness = o.Has("registerLiveness") && o.Get("registerLiveness").ToBoolean().Value();
    if (o.Has("storeHostRank") && o.Get("storeHostRank").IsNumber()) g.storeHostRank = o.Get("storeHostRank").As<Napi::Number>().Int32Value();
    group_ = std::make_unique<Group>(g);
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "falcon-gloo", 0, 1);
    tsfn_.Unref(env);
  }

  // The thread-safe function is released by close(); at environment teardown Node finalises it
  // itself (releasing it here then would abort).
  ~GlooGroup() override {
    if (group_) group_->close();
  }

 private:
  /** How Submit reports: a Promise, blocking the caller, or a handle waited later (isend/irecv). */
  enum class Mode { Async, Sync, Handle };

  Napi::Value Submit(Napi::Env env, const std::string& op, std::vector<Napi::Value> keep, bool sync, std::function<void()> run,
                     std::function<void()> wait = nullptr, int peer = -1) {
    return Submit(env, op, std::move(keep), sync ? Mode::Sync : Mode::Async, std::move(run), std::move(wait), peer);
  }

  /** Queues `run` (+ `wait`), keeping `keep` alive; returns a Promise, blocks (Sync) or returns a handle (Handle). */
  Napi::Value Submit(Napi::Env env, const std::string& op, std::vector<Napi::Value> keep, Mode mode, std::function<void()> run,
                     std::function<void()> wait, int peer) {
    bool sync = mode == Mode::Sync;
    if (!group_) throw Napi::Error::New(env, op + ": the process group was destroyed");
    auto* jt = new JsTask();
    jt->task.op = op;
    jt->task.run = std::move(run);
    jt->task.wait = std::move(wait);
    jt->task.peer = peer;
    jt->task.user = jt;
    jt->sync = sync;
    jt->owner = this;
    for (auto& v : keep)
      if (v.IsObject()) jt->refs.push_back(Napi::Persistent(v.As<Napi::Object>()));
    if (sync) {
      auto fut = jt->syncDone.get_future();
      jt->task.done = [](Task* t) { static_cast<JsTask*>(t->user)->syncDone.set_value(); };
      group_->submit(&jt->task);
      fut.wait();
      std::unique_ptr<JsTask> owned(jt);
      if (jt->task.failed) throw toJsError(env, jt->task.error);
      return env.Undefined();
    }
    if (mode == Mode::Handle) return Handle(env, jt);
    jt->deferred = std::make_unique<Napi::Promise::Deferred>(env);
    Napi::Promise promise = jt->deferred->Promise();
    if (pending_++ == 0) tsfn_.Ref(env);
    auto tsfn = tsfn_;
    jt->task.done = [tsfn](Task* t) mutable {
      tsfn.BlockingCall(static_cast<JsTask*>(t->user), [](Napi::Env env, Napi::Function, JsTask* jt) {
        std::unique_ptr<JsTask> owned(jt);
        if (jt->task.failed) jt->deferred->Reject(toJsError(env, jt->task.error).Value());
        else jt->deferred->Resolve(env.Undefined());
        if (--jt->owner->pending_ == 0 && !jt->owner->released_) jt->owner->tsfn_.Unref(env);
      });
    };
    group_->submit(&jt->task);
    return promise;
  }

  /** Submits jt (sync-style completion) and returns { wait(), isCompleted() } over it. */
  Napi::Value Handle(Napi::Env env, JsTask* jt) {
    struct State {
      JsTask* jt;
      std::shared_future<void> fut;
      bool waited = false;
    };
    auto st = std::make_shared<State>();
    st->jt = jt;
    st->fut = jt->syncDone.get_future().share();
    jt->task.done = [](Task* t) { static_cast<JsTask*>(t->user)->syncDone.set_value(); };
    group_->submit(&jt->task);
    // an abandoned handle keeps its task (the transfer may still write into the kept buffer)
    Napi::Object h = Napi::Object::New(env);
    h.Set("wait", Napi::Function::New(env, [st](const Napi::CallbackInfo& info) -> Napi::Value {
            if (st->waited) throw Napi::Error::New(info.Env(), "wait: this handle was already waited");
            st->fut.wait();
            st->waited = true;
            std::unique_ptr<JsTask> owned(st->jt);
            st->jt = nullptr;
            if (owned->task.failed) throw toJsError(info.Env(), owned->task.error);
            return info.Env().Undefined();
          }));
    h.Set("isCompleted", Napi::Function::New(env, [st](const Napi::CallbackInfo& info) -> Napi::Value {
            return Napi::Boolean::New(info.Env(), st->waited || st->fut.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
          }));
    return h;
  }

  static std::string header(const Napi::Value& v) {
    if (!v.IsTypedArray()) return {};
    auto ta = v.As<Napi::TypedArray>();
    if (ta.ByteLength() != 128) throw Napi::RangeError::New(v.Env(), "header must be 128 bytes");
    return std::string(static_cast<char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), 128);
  }

  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Group* g = group_.get();
    return Submit(info.Env(), "rendezvous", {}, false, [g] { g->connect(); });
  }

  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    Buf in = typed(info[0], "allreduce input"), out = typed(info[1], "allreduce output");
    if (in.dtype != out.dtype || in.n != out.n) throw Napi::TypeError::New(info.Env(), "allreduce: input and output differ in type or length");
    ReduceOp op = parseOp(info[2]);
    std::string h = header(info[3]);
    Group* g = group_.get();
    return Submit(info.Env(), "allReduce", {info[0], info[1]}, info[4].ToBoolean(), [g, in, out, op, h] {
      if (!h.empty()) checkSameInput(*g, "allReduce", h.data());
      allreduce(*g, in.dtype, in.data, out.data, in.n, op);
    });
  }

  Napi::Value Allgather(const Napi::CallbackInfo& info) {
    Buf in = typed(info[0], "allgather input"), out = typed(info[1], "allgather output");
    Group* g = group_.get();
    if (in.dtype != out.dtype || out.n != in.n * (size_t)g->options().size) throw Napi::TypeError::New(info.Env(), "allgather: output must hold size × input elements of the same type");
    std::string h = header(info[2]);
    return Submit(info.Env(), "allGather", {info[0], info[1]}, info[3].ToBoolean(), [g, in, out, h] {
      if (!h.empty()) checkSameInput(*g, "allGather", h.data());
      allgather(*g, in.dtype, in.data, out.data, in.n);
    });
  }

  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    Buf in = typed(info[0], "reduceScatter input"), out = typed(info[1], "reduceScatter output");
    Group* g = group_.get();
    if (in.dtype != out.dtype || in.n != out.n * (size_t)g->options().size) throw Napi::TypeError::New(info.Env(), "reduceScatter: input must hold size × output elements of the same type");
    ReduceOp op = parseOp(info[2]);
    std::string h = header(info[3]);
    return Submit(info.Env(), "reduceScatter", {info[0], info[1]}, info[4].ToBoolean(), [g, in, out, op, h] {
      if (!h.empty()) checkSameInput(*g, "reduceScatter", h.data());
      reduceScatter(*g, in.dtype, in.data, out.data, out.n, op);
    });
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Buf in = typed(info[0], "broadcast input"), out = typed(info[1], "broadcast output");
    if (in.dtype != out.dtype || in.n != out.n) throw Napi::TypeError::New(info.Env(), "broadcast: input and output differ in type or length");
    int root = info[2].As<Napi::Number>().Int32Value();
    std::string h = header(info[3]);
    Group* g = group_.get();
    return Submit(info.Env(), "broadcast", {info[0], info[1]}, info[4].ToBoolean(), [g, in, out, root, h] {
      if (!h.empty()) checkSameInput(*g, "broadcast", h.data());
      broadcast(*g, in.dtype, in.data, out.data, in.n, root);
    });
  }

  Napi::Value Alltoall(const Napi::CallbackInfo& info) {
    Buf in = typed(info[0], "alltoall input"), out = typed(info[1], "alltoall output");
    Group* g = group_.get();
    size_t size = (size_t)g->options().size;
    if (in.dtype != out.dtype || in.n != out.n || in.n % size) throw Napi::TypeError::New(info.Env(), "alltoall: input and output must have the same type and length, a multiple of the group size");
    std::string h = header(info[2]);
    return Submit(info.Env(), "allToAll", {info[0], info[1]}, info[3].ToBoolean(), [g, in, out, h, size] {
      if (!h.empty()) checkSameInput(*g, "allToAll", h.data());
      alltoall(*g, in.dtype, in.data, out.data, in.n / size);
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    Group* g = group_.get();
    return Submit(info.Env(), "barrier", {}, info[0].ToBoolean(), [g] { barrier(*g); });
  }

  // Point-to-point: a 16-byte header (element count, dtype) goes first on its own slot, so that a
  // receive asking for another size or dtype is an error on the receiver (gloo itself would abort
  // the process on a short buffer, or silently fill part of a long one).
  /** The slot of one point-to-point message: prefix, the user's tag, and its number among the messages to/from that peer with that tag. */
  static uint64_t p2pSlot(uint8_t prefix, uint32_t tag, uint32_t seq) { return ((uint64_t)prefix << 56) | ((uint64_t)(tag & 0xFFFFFF) << 32) | seq; }

  Napi::Value Send(const Napi::CallbackInfo& info) { return SendAs(info, info[3].ToBoolean() ? Mode::Sync : Mode::Async); }
  Napi::Value Isend(const Napi::CallbackInfo& info) { return SendAs(info, Mode::Handle); }
  Napi::Value Recv(const Napi::CallbackInfo& info) { return RecvAs(info, info[3].ToBoolean() ? Mode::Sync : Mode::Async); }
  Napi::Value Irecv(const Napi::CallbackInfo& info) { return RecvAs(info, Mode::Handle); }

  Napi::Value SendAs(const Napi::CallbackInfo& info, Mode mode) {
    Buf in = typed(info[0], "send input");
    int dst = info[1].As<Napi::Number>().Int32Value();
    uint32_t tag = info[2].As<Napi::Number>().Uint32Value();
    Group* g = group_.get();
    if (dst < 0 || dst >= g->options().size || dst == g->options().rank) throw Napi::RangeError::New(info.Env(), "send: dst " + std::to_string(dst) + " is not another rank of the group");
    struct State {
      int64_t hdr[2];
      std::unique_ptr<::gloo::transport::UnboundBuffer> h, d;
    };
    auto st = std::make_shared<State>();
    st->hdr[0] = (int64_t)in.n;
    st->hdr[1] = in.dtype;
    int64_t timeout = g->options().timeoutMs;
    uint32_t seq = sendSeq_[{dst, tag}]++;
    return Submit(
        info.Env(), "send", {info[0]}, mode,
        [g, in, dst, tag, st, seq] {
          st->h = g->context()->createUnboundBuffer(st->hdr, sizeof(st->hdr));
          st->h->send(dst, p2pSlot(0x82, tag, seq));
          if (in.n > 0) {
            st->d = g->context()->createUnboundBuffer(in.data, in.n * 4);
            st->d->send(dst, p2pSlot(0x80, tag, seq));
          }
        },
        [st, timeout] {
          st->h->waitSend(std::chrono::milliseconds(timeout));
          if (st->d) st->d->waitSend(std::chrono::milliseconds(timeout));
        },
        dst);
  }

  Napi::Value RecvAs(const Napi::CallbackInfo& info, Mode mode) {
    Buf out = typed(info[0], "recv output");
    int src = info[1].As<Napi::Number>().Int32Value();
    uint32_t tag = info[2].As<Napi::Number>().Uint32Value();
    Group* g = group_.get();
    if (src < 0 || src >= g->options().size || src == g->options().rank) throw Napi::RangeError::New(info.Env(), "recv: src " + std::to_string(src) + " is not another rank of the group");
    struct State {
      int64_t hdr[2] = {0, 0};
      std::unique_ptr<::gloo::transport::UnboundBuffer> h, d;
      std::vector<char> scratch;
    };
    auto st = std::make_shared<State>();
    int64_t timeout = g->options().timeoutMs;
    int srcGlobal = g->options().globalRanks[src];
    int meGlobal = g->options().globalRanks[g->options().rank];
    uint32_t seq = recvSeq_[{src, tag}]++;
    return Submit(
        info.Env(), "recv", {info[0]}, mode,
        [g, src, tag, st, seq] {
          st->h = g->context()->createUnboundBuffer(st->hdr, sizeof(st->hdr));
          st->h->recv(src, p2pSlot(0x82, tag, seq));
        },
        [g, out, src, tag, st, timeout, srcGlobal, meGlobal, seq] {
          st->h->waitRecv(std::chrono::milliseconds(timeout));
          size_t n = (size_t)st->hdr[0];
          bool same = n == out.n && st->hdr[1] == out.dtype;
          if (n > 0) {
            void* dst = out.data;
            if (!same) {
              st->scratch.resize(n * 4);  // take the message anyway, then report
              dst = st->scratch.data();
            }
            st->d = g->context()->createUnboundBuffer(dst, n * 4);
            st->d->recv(src, p2pSlot(0x80, tag, seq));
            st->d->waitRecv(std::chrono::milliseconds(timeout));
          }
          if (!same) {
            auto dt = [](int64_t d) { return d == 0 ? std::string("float32") : std::string("int32"); };
            throw InputError("recv on rank " + std::to_string(meGlobal) + " (tag " + std::to_string(tag) + "): rank " + std::to_string(srcGlobal) + " sent " + std::to_string(n) + " " + dt(st->hdr[1]) + " elements, this rank asked for " + std::to_string(out.n) + " " + dt(out.dtype));
          }
        },
        src);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (group_) group_->close();  // joins the threads: nothing queues completions after this
    group_.reset();
    if (!released_) {
      released_ = true;
      tsfn_.Release();
    }
    return info.Env().Undefined();
  }

  std::unique_ptr<Group> group_;
  Napi::ThreadSafeFunction tsfn_;
  int pending_ = 0;
  bool released_ = false;
  std::map<std::pair<int, uint32_t>, uint32_t> sendSeq_, recvSeq_;  // per (peer, tag), main thread only
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("gloo", Napi::String::New(info.Env(), std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) + "." + std::to_string(GLOO_VERSION_PATCH)));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("GlooGroup", GlooGroup::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(falcon_parallel_gloo, Init)

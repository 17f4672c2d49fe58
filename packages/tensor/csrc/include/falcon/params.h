// The named native-call contract, C++ side: how a kernel's parameters cross from TypeScript to a
// binding. Each binding takes ONE struct of named fields, declared once here:
//
//   struct CausalConv1dParams {
//     const float* x; const float* weight; float* y;   // device pointers (0 → nullptr)
//     int batch, seqlen, dim;                          // sizes
//     bool silu;                                       // flags
//     FALCON_PARAMS(x, weight, y, batch, seqlen, dim, silu)
//   };
//   void causalConv1d(cudaStream_t stream, const CausalConv1dParams& p) { ... }
//   ...
//   falcon::ext::bind(env, exports, "causalConv1d", causalConv1d);
//
// The TypeScript side declares the same fields by name (`nativeKernel({ x: 'ptr', ... })` in
// @falcon/tensor's `op/cuda/native.ts`). `bind` exports, beside the function, its signature in
// `exports.falconSignatures[name]` = { stream, returns, fields: [[name, kind], ...] } with the kind
// of every field taken from its C++ type (pointer → 'ptr', int → 'i32', int64_t → 'i64',
// float → 'f32', double → 'f64', bool → 'bool', IntList → 'i64[]', FloatList → 'f32[]'). When the
// addon is loaded (and by `tools/build-cuda.mjs --check` in CI) the TypeScript kit compares these
// signatures with its declarations, name by name: a missing, extra, misnamed, reordered or
// retyped field is an error at load or build time. A member left out of FALCON_PARAMS is a compile
// error (the list must name every member), a name listed twice an error when the addon loads.
//
// Per call, the kit validates the JavaScript object against the declaration (presence, kind, no
// extra keys) and packs the values into a Float64Array in declaration order: scalars one slot each,
// a list field a slot holding its length, its elements appended after the last field's slot in
// field order. `unpack` fills the struct from that array, checking the array's length and every
// value against its field's kind (integers in range, 0/1 flags) and naming the field in its error,
// before the binding touches the GPU. (Reading the fields of a JavaScript object through Node-API
// costs ~60 ns a field on Node 20; the packed array costs a few ns a field. See docs/cuda.md.)
#pragma once
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#ifndef NAPI_CPP_EXCEPTIONS
#define NAPI_CPP_EXCEPTIONS
#endif
#ifndef NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#endif
#include <cuda_runtime.h>
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

/**
 * Inside a params struct: lists every member, in order. Defines `falconTie()` (the members as a
 * tuple of references) and `falconFieldNames()` (the list as written).
 */
#define FALCON_PARAMS(...)                           \
  auto falconTie() { return std::tie(__VA_ARGS__); } \
  static constexpr const char* falconFieldNames() { return FALCON_PARAMS_STRING(__VA_ARGS__); }
/** The field list as a string, after expanding macros in it (a list may use a macro of shared fields). */
#define FALCON_PARAMS_STRING(...) #__VA_ARGS__

namespace falcon {
namespace ext {

/** A list of integers ('i64[]'): a view of the packed call, valid while the binding runs. */
struct IntList {
  const double* data;
  int size;
  int64_t operator[](int i) const { return (int64_t)data[i]; }
};

/** A list of float32 values ('f32[]') passed by value (e.g. RoPE's inverse frequencies). */
struct FloatList {
  std::vector<float> values;
};

namespace params_detail {

template <class T, class = void>
struct Kind;
template <class T>
struct Kind<T*> {
  static constexpr const char* name = "ptr";
};
template <>
struct Kind<int> {
  static constexpr const char* name = "i32";
};
template <>
struct Kind<int64_t> {
  static constexpr const char* name = "i64";
};
template <>
struct Kind<float> {
  static constexpr const char* name = "f32";
};
template <>
struct Kind<double> {
  static constexpr const char* name = "f64";
};
template <>
struct Kind<bool> {
  static constexpr const char* name = "bool";
};
template <>
struct Kind<IntList> {
  static constexpr const char* name = "i64[]";
};
template <>
struct Kind<FloatList> {
  static constexpr const char* name = "f32[]";
};

// Number of members of an aggregate: the most initialisers S{...} accepts (each converts to anything).
struct Any {
  template <class T>
  operator T() const;
};
template <class S, class Seq, class = void>
struct BraceInitialisable : std::false_type {};
template <class S, size_t... I>
struct BraceInitialisable<S, std::index_sequence<I...>, std::void_t<decltype(S{(void(I), Any{})...})>> : std::true_type {};
template <class S, size_t N = 0>
constexpr size_t memberCount() {
  if constexpr (N < 128 && BraceInitialisable<S, std::make_index_sequence<N + 1>>::value) {
    return memberCount<S, N + 1>();
  } else {
    return N;
  }
}

/** What `bind` knows about a params struct: its field names and kinds, in order. */
struct Signature {
  std::vector<std::string> names;
  std::vector<const char*> kinds;
};

inline std::vector<std::string> splitNames(const char* list) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* c = list;; ++c) {
    if (*c == ',' || *c == 0) {
      size_t a = cur.find_first_not_of(" \t\n"), b = cur.find_last_not_of(" \t\n");
      out.push_back(a == std::string::npos ? std::string() : cur.substr(a, b - a + 1));
      cur.clear();
      if (*c == 0) break;
    } else {
      cur += *c;
    }
  }
  return out;
}

template <class P>
const Signature& signatureOf() {
  static_assert(std::is_aggregate_v<P>, "a params struct must be an aggregate (public members, no constructors)");
  using Tie = decltype(std::declval<P&>().falconTie());
  static_assert(memberCount<P>() == std::tuple_size_v<Tie>, "FALCON_PARAMS must list every member of the params struct, once");
  static const Signature sig = [] {
    Signature s;
    s.names = splitNames(P::falconFieldNames());
    P probe{};
    Tie t = probe.falconTie();
    if (s.names.size() != std::tuple_size_v<Tie>) {
      throw std::runtime_error("FALCON_PARAMS(" + std::string(P::falconFieldNames()) + "): " + std::to_string(s.names.size()) + " names for " +
                               std::to_string(std::tuple_size_v<Tie>) + " members");
    }
    std::vector<const void*> addresses;
    std::apply([&](auto&... f) { ((s.kinds.push_back(Kind<std::decay_t<decltype(f)>>::name), addresses.push_back(&f)), ...); }, t);
    for (size_t i = 0; i < addresses.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (addresses[i] == addresses[j] || s.names[i] == s.names[j]) {
          throw std::runtime_error("FALCON_PARAMS(" + std::string(P::falconFieldNames()) + ") lists '" + s.names[i] + "' twice");
        }
      }
    }
    return s;
  }();
  return sig;
}

[[noreturn]] inline void badField(const char* fn, const std::string& field, const char* what, double v) {
  char got[32];
  std::snprintf(got, sizeof got, "%.17g", v);
  throw std::runtime_error(std::string(fn) + ": field '" + field + "' must be " + what + " (got " + got + ")");
}

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1

inline bool isInt(double v) { return std::isfinite(v) && std::floor(v) == v && std::fabs(v) <= kMaxSafe; }

/** Reads one field from slot `i` (lists from the tail at `tail`, which advances). */
struct Reader {
  const char* fn;
  const Signature& sig;
  const double* d;
  size_t len;
  size_t i = 0;
  size_t tail;

  template <class T>
  void operator()(T*& f) {
    double v = d[i];
    if (!isInt(v) || v < 0) badField(fn, sig.names[i], "a device pointer (an integer ≥ 0)", v);
    f = reinterpret_cast<T*>((uintptr_t)v);
    ++i;
  }
  void operator()(int& f) {
    double v = d[i];
    if (!isInt(v) || v < -2147483648.0 || v > 2147483647.0) badField(fn, sig.names[i], "an int32", v);
    f = (int)v;
    ++i;
  }
  void operator()(int64_t& f) {
    double v = d[i];
    if (!isInt(v)) badField(fn, sig.names[i], "an integer", v);
    f = (int64_t)v;
    ++i;
  }
  void operator()(float& f) { f = (float)d[i++]; }
  void operator()(double& f) { f = d[i++]; }
  void operator()(bool& f) {
    double v = d[i];
    if (v != 0 && v != 1) badField(fn, sig.names[i], "a flag (0 or 1)", v);
    f = v == 1;
    ++i;
  }
  size_t listLength() {
    double v = d[i];
    if (!isInt(v) || v < 0 || tail + (size_t)v > len) badField(fn, sig.names[i], "a list length within the packed call", v);
    return (size_t)v;
  }
  void operator()(IntList& f) {
    size_t n = listLength();
    for (size_t k = 0; k < n; ++k) {
      if (!isInt(d[tail + k])) badField(fn, sig.names[i] + "[" + std::to_string(k) + "]", "an integer", d[tail + k]);
    }
    f = IntList{d + tail, (int)n};
    tail += n;
    ++i;
  }
  void operator()(FloatList& f) {
    size_t n = listLength();
    f.values.resize(n);
    for (size_t k = 0; k < n; ++k) f.values[k] = (float)d[tail + k];
    tail += n;
    ++i;
  }
};

}  // namespace params_detail

/**
 * Fills a params struct from a call packed by the TypeScript kit (see the file comment): throws an
 * Error naming `fn` and the field when the array is not a Float64Array of the right length or a
 * value does not fit its field's kind.
 */
template <class P>
P unpack(const char* fn, const Napi::Value& v) {
  const params_detail::Signature& sig = params_detail::signatureOf<P>();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw std::runtime_error(std::string(fn) + ": expects its parameters packed into a Float64Array by the @falcon/tensor CUDA kit (call it through the package's declaration, not directly)");
  }
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  size_t len = a.ElementLength();
  if (len < sig.names.size()) {
    throw std::runtime_error(std::string(fn) + ": the packed call has " + std::to_string(len) + " values, the declaration " + std::to_string(sig.names.size()) + " fields");
  }
  P p{};
  params_detail::Reader r{fn, sig, a.Data(), len, 0, sig.names.size()};
  std::apply([&](auto&... f) { (r(f), ...); }, p.falconTie());
  if (r.tail != len) {
    throw std::runtime_error(std::string(fn) + ": the packed call has " + std::to_string(len) + " values, its fields and lists " + std::to_string(r.tail));
  }
  return p;
}

namespace params_detail {

inline Napi::Object signatures(Napi::Env env, Napi::Object exports) {
  Napi::Value s = exports.Get("falconSignatures");
  if (s.IsObject()) return s.As<Napi::Object>();
  Napi::Object o = Napi::Object::New(env);
  exports.Set("falconSignatures", o);
  return o;
}

template <class P>
void exportSignature(Napi::Env env, Napi::Object exports, const char* name, bool stream, const char* returns) {
  const Signature& sig = signatureOf<P>();
  Napi::Object o = Napi::Object::New(env);
  o.Set("stream", stream);
  o.Set("returns", returns);
  Napi::Array fields = Napi::Array::New(env, sig.names.size());
  for (size_t i = 0; i < sig.names.size(); ++i) {
    Napi::Array f = Napi::Array::New(env, 2);
    f.Set(0u, sig.names[i]);
    f.Set(1u, sig.kinds[i]);
    fields.Set((uint32_t)i, f);
  }
  o.Set("fields", fields);
  signatures(env, exports).Set(name, o);
}

inline void expectArgs(const char* name, const Napi::CallbackInfo& info, size_t n, const char* form) {
  if (info.Length() != n) {
    throw std::runtime_error(std::string(name) + ": expects " + form + ", got " + std::to_string(info.Length()) + " argument(s)");
  }
}

inline cudaStream_t streamArg(const char* name, const Napi::Value& v) {
  if (!v.IsNumber()) throw std::runtime_error(std::string(name) + ": argument 0 must be the backend's stream (a number)");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!isInt(d) || d < 0) badField(name, "stream", "a stream handle (an integer ≥ 0)", d);
  return reinterpret_cast<cudaStream_t>((uintptr_t)d);
}

}  // namespace params_detail

/** Exports `fn(stream, params)`: a kernel of a package addon, queued on the backend's stream. */
template <class P>
void bind(Napi::Env env, Napi::Object exports, const char* name, void (*fn)(cudaStream_t, const P&)) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          params_detail::expectArgs(name, info, 2, "(stream, packed params)");
                          cudaStream_t s = params_detail::streamArg(name, info[0]);
                          const P p = unpack<P>(name, info[1]);
                          fn(s, p);
                          return info.Env().Undefined();
                        },
                        name));
  params_detail::exportSignature<P>(env, exports, name, true, "void");
}

/** Exports `fn(params)`: a kernel that queues its work on the addon's own stream (the tensor addon). */
template <class P>
void bind(Napi::Env env, Napi::Object exports, const char* name, void (*fn)(const P&)) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          params_detail::expectArgs(name, info, 1, "(packed params)");
                          const P p = unpack<P>(name, info[0]);
                          fn(p);
                          return info.Env().Undefined();
                        },
                        name));
  params_detail::exportSignature<P>(env, exports, name, false, "void");
}

/** Exports `fn(params) → number`: a host-side query (e.g. the scratch floats a kernel needs). */
template <class P>
void bind(Napi::Env env, Napi::Object exports, const char* name, double (*fn)(const P&)) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          params_detail::expectArgs(name, info, 1, "(packed params)");
                          const P p = unpack<P>(name, info[0]);
                          return Napi::Number::New(info.Env(), fn(p));
                        },
                        name));
  params_detail::exportSignature<P>(env, exports, name, false, "number");
}

}  // namespace ext
}  // namespace falcon

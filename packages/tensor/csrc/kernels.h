// The kernel launchers of the @falcon/tensor CUDA addon (implemented in the .cu files, called by
// the Node-API bindings in addon.cpp) and the op codes they take. Every launcher queues work on
// the context's stream and returns without waiting; n == 0 launches nothing.
#pragma once
#include "common.h"

namespace falcon {

// Element-wise unary ops. The names (same order) are exported to JavaScript as `unaryOps`.
#define FALCON_UNARY_OPS(X)                                                                          \
  X(Neg) X(Abs) X(Sign) X(Square) X(Sqrt) X(Rsqrt) X(Exp) X(Expm1) X(Log) X(Log1p) X(Sigmoid)        \
  X(Softplus) X(Tanh) X(Relu) X(Relu6) X(Elu) X(Selu) X(Erf) X(Round) X(Floor) X(Ceil) X(Reciprocal) \
  X(Sin) X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh)            \
  X(ClipByValue) X(Step) X(LeakyRelu) X(IsNan) X(IsInf) X(IsFinite) X(LogicalNot)

// Element-wise binary ops with broadcasting; comparisons and logical ops write bool.
#define FALCON_BINARY_OPS(X)                                                                         \
  X(Add) X(Sub) X(Multiply) X(RealDiv) X(FloorDiv) X(Mod) X(Maximum) X(Minimum) X(Pow)               \
  X(SquaredDifference) X(Atan2) X(Prelu) X(EluGrad) X(Less) X(LessEqual) X(Greater) X(GreaterEqual)  \
  X(Equal) X(NotEqual) X(LogicalAnd) X(LogicalOr) X(LogicalXor)

// Reductions over the middle axis of an [outer, R, inner] view.
#define FALCON_REDUCE_OPS(X) X(Sum) X(Prod) X(Max) X(Min) X(All) X(Any)

#define FALCON_ENUM(name) k##name,
enum UnaryOp : int { FALCON_UNARY_OPS(FALCON_ENUM) kUnaryCount };
enum BinaryOp : int { FALCON_BINARY_OPS(FALCON_ENUM) kBinaryCount };
enum ReduceOp : int { FALCON_REDUCE_OPS(FALCON_ENUM) kReduceCount };
#undef FALCON_ENUM

extern const char* const kUnaryNames[];
extern const char* const kBinaryNames[];
extern const char* const kReduceNames[];

// elementwise.cu
void launchUnary(int op, int dtIn, int dtOut, const void* x, void* y, int64_t n, float p0, float p1);
// mode: 0 all inputs contiguous with the output's shape, 1 general strides (see Broadcast).
void launchBinary(int op, int dtIn, int dtOut, const void* a, const void* b, void* y, const Broadcast& d, int64_t n, int mode);
void launchSelect(int dt, const uint8_t* cond, const void* t, const void* e, void* y, const Broadcast& d, int64_t n, int mode);
void launchCast(int dtIn, int dtOut, const void* x, void* y, int64_t n);
void launchFill(int dt, void* y, int64_t n, double value);
void launchRange(int dt, void* y, int64_t n, double start, double step);

// layout.cu
void launchCopy(int dt, const void* x, void* y, const Copy& d, int64_t n, double padValue);
void launchTranspose2d(int dt, const void* x, void* y, int64_t batch, int64_t rows, int64_t cols);
void launchGather(int dt, const void* x, const int32_t* idx, void* y, int64_t batch, int64_t outer, int64_t dim,
                  int64_t slice, int64_t nIdx);
void launchSegmentSum(int dt, const void* x, const int32_t* seg, void* y, int64_t rows, int64_t slice, int64_t numSegments);
void launchOneHot(int dt, const int32_t* idx, void* y, int64_t n, int64_t depth, double on, double off);

// reduce.cu
void launchReduce(int op, int dtIn, int dtOut, const void* x, void* y, int64_t outer, int64_t r, int64_t inner);
void launchArgReduce(bool isMax, int dtIn, const void* x, int32_t* y, int64_t outer, int64_t r, int64_t inner);
void launchCumulative(bool isProd, int dt, const void* x, void* y, int64_t outer, int64_t r, int64_t inner, bool exclusive,
                      bool reverse);

// softmax.cu
void launchSoftmax(const float* x, float* y, int64_t rows, int64_t cols, bool log);

// rms_norm.cu (the FalconRmsNorm op): rows of `dim`, weight of groups · dim (row i uses slice i mod groups).
void launchRmsNorm(const float* x, const float* w, float* y, int64_t rows, int dim, int groups, float eps);
void launchRmsNormBackward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t rows, int dim, int groups,
                           float eps);

// adamw_step.cu (the FalconAdamwStep op): the float32 constants of one update (see adamw_step_signature.ts).
struct AdamwConstants {
  float b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay;
  bool decayed;  // decay != 1: multiply p by it
};
// p' = p·decay − lr·(m'/bc1)/(√(v'/bc2) + eps), m' = b1·m + omb1·g̃, v' = b2·v + omb2·g̃², g̃ = g·(*scale) (scale may be null).
void launchAdamwStep(const float* p, const float* g, const float* m, const float* v, const float* scale, float* pOut, float* mOut,
                     float* vOut, int64_t n, const AdamwConstants& k);

// bf16_cast.cu (operands of the bf16 matrix products): float32 → bfloat16 bits, round to nearest
// even (NaN stays a quiet NaN, ±Inf stays ±Inf; the bits of f32ToBf16 in src/dtype.ts), and the
// same rounding written back as float32 (the bf16 value, exactly).
void launchToBf16(const float* x, uint16_t* y, int64_t n);
void launchRoundBf16(const float* x, float* y, int64_t n);

// allocator.cpp: device memory from the caching allocator (used for kernel scratch space).
void* cacheAlloc(size_t bytes);
void cacheFree(void* p);

}  // namespace falcon

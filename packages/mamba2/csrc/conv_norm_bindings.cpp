// Bindings of causalConv1d(+Backward) and gatedRmsNorm(+Backward).
#include "bindings.h"

namespace falcon {
namespace mamba2 {

void registerConvNorm(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mamba2
}  // namespace falcon

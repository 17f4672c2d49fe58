// Each file of bindings binds its functions (falcon::ext::bind) on the addon's exports.
#pragma once
#include <falcon/extension.h>

namespace falcon {
namespace mamba2 {

/** ssdSequentialScan(+Backward) and selectiveStateUpdate (ssd_bindings.cpp). */
void registerSsd(Napi::Env env, Napi::Object exports);
/** causalConv1d(+Backward) and gatedRmsNorm(+Backward) (conv_norm_bindings.cpp). */
void registerConvNorm(Napi::Env env, Napi::Object exports);

}  // namespace mamba2
}  // namespace falcon

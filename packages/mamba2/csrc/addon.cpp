// The @falcon/mamba2 CUDA addon (falcon_mamba2_cuda.node): the kernels of the SSD ops
// (ssd_bindings.cpp) and of the causal convolution and gated RMSNorm ops (conv_norm_bindings.cpp),
// run on the tensors and stream of @falcon/tensor's cuda backend (<falcon/extension.h>).
#include <falcon/extension.h>

#include "bindings.h"

FALCON_EXTENSION_MODULE(falcon_mamba2_cuda, {
  falcon::mamba2::registerSsd(env, exports);
  falcon::mamba2::registerConvNorm(env, exports);
})

# Sourced by the device runners after the build: points the cuda backend and every package's
# CUDA extension at the addons just built (bundles cannot find them relative to themselves).
export FALCON_CUDA_ADDON=$PWD/packages/tensor/build/falcon_tensor_cuda.node
for _addon in packages/*/build/falcon_*_cuda.node; do
  _pkg=$(basename "$(dirname "$(dirname "$_addon")")")
  [ "$_pkg" = tensor ] || export "FALCON_${_pkg^^}_CUDA_ADDON=$PWD/$_addon"
done
unset _addon _pkg

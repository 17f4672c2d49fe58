# Sourced by the tools/device/prepare-*.sh scripts (here, not on the GPU machine):
#   device_bundle SRC OUT   esbuild bundle of SRC (a .ts entry) into OUT (.mjs) for Node 20 on the
#                           device: tfjs inside, the WebGPU packages left out, `require` provided.
device_bundle() {
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 \
    --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$2" \
    --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
    --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
}

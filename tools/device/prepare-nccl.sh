#!/usr/bin/env bash
# Prepares .device/ for the NCCL check of @falcon/parallel (run here): the carried Node and the
# Node-API headers (tools/device/prepare.sh, if .device/ is not there yet) and the bundle
# .device/nccl-tests.mjs of tools/device/nccl-tests.ts. Then on the GPU machine: device run with
# carry [".device"] and command `bash tools/device/run-nccl.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -s .device/node.xz ] && [ -f .device/include/node-api/node_api.h ] || bash tools/device/prepare.sh
node packages/tensor/scripts/bundle-gradients.mjs >/dev/null
npx esbuild tools/device/nccl-tests.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile=.device/nccl-tests.mjs \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
echo "prepared .device/nccl-tests.mjs ($(du -h .device/nccl-tests.mjs | cut -f1))"

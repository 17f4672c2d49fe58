#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-session.sh (run here): the whole-model bundles
# (prepare-model.sh, which includes prepare.sh's), the NCCL check (prepare-nccl.sh), and the bundle
# of packages/hybrid/test/dp/dp1_vs_plain.ts (DP=1 through NCCL against the plain trainer).
# Then call the device with carry [".device"] and `bash tools/device/run-session.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/device/prepare-model.sh
bash tools/device/prepare-nccl.sh
npx esbuild packages/hybrid/test/dp/dp1_vs_plain.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile=.device/dp1-vs-plain.mjs \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
git rev-parse HEAD > .device/commit
du -sh .device | awk '{print "prepared .device: " $1}'

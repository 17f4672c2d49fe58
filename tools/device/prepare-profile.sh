#!/usr/bin/env bash
# Prepares .device/ for the training-step profile (run here): everything tools/device/prepare.sh puts
# there plus an esbuild bundle of benchmarks/cuda/profile-step.ts. Then call the device with carry
# [".device"] and `bash tools/device/run-profile.sh [profile-step args]`.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
bash tools/device/prepare.sh
npx esbuild benchmarks/cuda/profile-step.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$D/profile-step.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
du -sh "$D" | awk '{print "prepared .device: " $1}'

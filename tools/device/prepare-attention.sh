#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-attention.sh (run here): what prepare-profile.sh puts there
# (prepare.sh's bundles incl. the op tests, the step profile) plus a bundle of benchmarks/cuda/attention.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
bash tools/device/prepare-profile.sh
npx esbuild benchmarks/cuda/attention.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$D/attention-bench.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
cp tools/device/torch_attention_bench.py "$D/"
du -sh "$D" | awk '{print "prepared .device: " $1}'

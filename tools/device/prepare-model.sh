#!/usr/bin/env bash
# Prepares .device/ for the whole-model CUDA runner (run here): everything tools/device/prepare.sh
# puts there, plus an esbuild bundle of tools/device/model-cuda.ts (every @falcon package from its
# sources, through the root tsconfig's paths), the transformers fixtures (packages/hybrid/test/fixtures
# and fixtures/falcon-h1-tiny), the training corpus and the
# PyTorch script. Then call the device with carry [".device"] and `bash tools/device/run-model-cuda.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
bash tools/device/prepare.sh
npx esbuild tools/device/model-cuda.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$D/model-cuda.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
rm -rf "$D/fixtures" && mkdir -p "$D/fixtures"
for f in packages/hybrid/test/fixtures/*/; do [ -f "$f/reference.safetensors" ] && cp -r "$f" "$D/fixtures/"; done # fixtures only (not bare configs)
cp -r fixtures/falcon-h1-tiny "$D/fixtures/"
cp packages/hybrid/data/corpus.txt "$D/corpus.txt"
cp tools/device/torch_model_bench.py "$D/"
du -sh "$D" | awk '{print "prepared .device: " $1}'
size=$(du -sb "$D" | cut -f1)
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then echo "warning: .device is over 60 MiB" >&2; exit 1; fi

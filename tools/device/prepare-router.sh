#!/usr/bin/env bash
# Adds a bundle of benchmarks/router/run.ts to .device/ (after prepare.sh or one of the prepare-*.sh
# scripts that call it) for tools/device/run-router.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx esbuild benchmarks/router/run.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile=.device/router.mjs \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"

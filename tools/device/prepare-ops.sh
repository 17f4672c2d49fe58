#!/usr/bin/env bash
# Bundles one package's CUDA op cases (packages/<pkg>/test/cuda/cases.ts) with the op-test runner
# into .device/op-tests-<pkg>.mjs (runs tools/device/prepare.sh first if .device/ is not there).
# Then: device run, carry [".device"], command `bash tools/device/run-ops.sh <pkg> [--filter TEXT]`.
set -euo pipefail
cd "$(dirname "$0")/../.."
pkg=${1:?usage: tools/device/prepare-ops.sh <package>}
[ -f "packages/$pkg/test/cuda/cases.ts" ] || { echo "no packages/$pkg/test/cuda/cases.ts" >&2; exit 2; }
[ -s .device/node.xz ] || bash tools/device/prepare.sh
cat <<JS | npx esbuild --bundle --platform=node --format=esm --target=node20 --sourcefile=op-tests-$pkg.ts --loader=ts \
  --tsconfig=tsconfig.json --main-fields=module,main --log-level=warning --outfile=".device/op-tests-$pkg.mjs" \
  --external:node-fetch --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
import { cudaCases } from './packages/$pkg/test/cuda/cases.ts';
import { runOpTests } from './tools/device/op-tests.ts';
runOpTests({ '$pkg': cudaCases });
JS
echo "prepared .device/op-tests-$pkg.mjs"

#!/usr/bin/env bash
# Prepares .device/ for tools/device/run-multigpu.sh (run here): the carried Node and the Node-API
# headers (tools/device/prepare.sh, if .device/ does not hold them yet), the commit, and the bundles
# .device/collectives-bw.mjs, killed-rank.mjs, dp-train.mjs and merge-multigpu.mjs of benchmarks/parallel/ plus the
# torch anchor tools/device/torch_collectives_bw.py. Then on a machine of 2–8 GPUs (nvidia-h200-x8,
# -x4 or -x2): device run with carry [".device"] and `bash tools/device/run-multigpu.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
D=.device
[ -s "$D/node.xz" ] && [ -f "$D/include/node-api/node_api.h" ] && [ -f "$D/include/node-addon-api/napi.h" ] || bash tools/device/prepare.sh
# the commit (prepare.sh records it too, but it may have been skipped above)
commit=$(git rev-parse HEAD)
git diff --quiet HEAD -- || commit="$commit + uncommitted changes"
echo "$commit" > "$D/commit"
node packages/tensor/scripts/bundle-gradients.mjs >/dev/null
device_bundle benchmarks/parallel/collectives_bw.ts "$D/collectives-bw.mjs"
device_bundle benchmarks/parallel/killed_rank.ts "$D/killed-rank.mjs"
device_bundle benchmarks/parallel/dp_train.ts "$D/dp-train.mjs"
device_bundle benchmarks/parallel/merge_multigpu.ts "$D/merge-multigpu.mjs"
cp tools/device/torch_collectives_bw.py "$D/"
du -sh "$D" | awk '{print "prepared .device: " $1}'
size=$(du -sb "$D" | cut -f1)
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then echo "warning: .device is over 60 MiB" >&2; exit 1; fi

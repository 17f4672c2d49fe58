#!/usr/bin/env bash
# The NCCL device check of @falcon/parallel (run ON the GPU machine from the repo root, with .device/
# carried; prepare it here with tools/device/prepare-nccl.sh). Builds the tensor package's cuda addon
# and the NCCL addon for sm_90a, then runs .device/nccl-tests.mjs: the whole process-group API at
# world size 1 on cuda tensors through NCCL (libnccl.so.2 from the machine), printing one line per
# check and a summary; $OUT/nccl-tests.json holds the results. Exit 0 only if every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start
device_build --package tensor
echo "== build the NCCL addon (sm_90a)"
/tmp/node packages/parallel/scripts/build-native.mjs --nccl-only --arch sm_90a || { echo "NCCL ADDON BUILD FAILED"; exit 4; }
export FALCON_PARALLEL_NCCL_ADDON=$PWD/packages/parallel/build/falcon_parallel_nccl.node
/tmp/node -e "console.log('nccl probe: ' + JSON.stringify(require(process.argv[1]).probe()))" "$FALCON_PARALLEL_NCCL_ADDON"
echo "== nccl-tests (world size 1)"
timeout ${FALCON_TEST_TIMEOUT:-300} /tmp/node "$D/nccl-tests.mjs"
rc=$?
echo "== exit $rc"
exit $rc

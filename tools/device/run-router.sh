#!/usr/bin/env bash
# The hybrid head router on one GPU (run ON the GPU machine from the repo root, .device/ carried,
# prepared by tools/device/prepare-router.sh): each TP rank's shard of a Falcon-H1-0.5B layer timed
# on the GPU in turn, naive split vs routed, at each sequence length given (default 4096 16384)
# -> $OUT/router-cuda-<seqlen>.{json,md}. Builds the addons unless they are there (append to the log).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
device_start append
if [ -f packages/tensor/build/falcon_tensor_cuda.node ]; then device_addons; else device_build; fi
rc=0
for L in ${@:-4096 16384}; do
  echo "== router, seqlen $L (elapsed ${SECONDS} s)"
  FALCON_COMMIT=$(cat "$D/commit" 2>/dev/null) timeout "${ROUTER_TIMEOUT_S:-150}" /tmp/node "$D/router.mjs" --backend cuda --seqlen "$L" --t 3,5 --out "$OUT" || { rc=$?; echo "== router exit $rc"; }
done
echo "== exit $rc (elapsed ${SECONDS} s)"
exit $rc

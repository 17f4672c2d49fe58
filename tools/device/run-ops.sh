#!/usr/bin/env bash
# The op-kernel runner (run ON the GPU machine, from the repo root, with .device/ carried):
#   bash tools/device/run-ops.sh all [--filter TEXT]     every package (.device/op-tests.mjs, from prepare.sh)
#   bash tools/device/run-ops.sh mamba2 [--filter TEXT]  one package (.device/op-tests-mamba2.mjs, from prepare-ops.sh)
# Unpacks Node, builds the tensor addon and the package's (all for 'all') for sm_90a, then runs the
# op tests (each op's cuda kernel, forward and backward, against its cpu kernel). Output also in $OUT/log.
# FALCON_SANITIZE=1 runs the op tests under compute-sanitizer memcheck instead.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
pkg=${1:?usage: run-ops.sh <package|all> [op-tests arguments]}
shift
if [ "$pkg" = all ]; then build=(); bundle=$D/op-tests.mjs; else build=(--package "tensor,$pkg"); bundle=$D/op-tests-$pkg.mjs; fi
device_start
device_build "${build[@]}"
echo "== op tests"
if [ "${FALCON_SANITIZE:-0}" = 1 ]; then
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  timeout ${FALCON_TEST_TIMEOUT:-400} "$CS" --tool memcheck --print-limit 20 --error-exitcode 9 /tmp/node "$bundle" --out "$OUT" "$@"
else
  timeout ${FALCON_TEST_TIMEOUT:-400} /tmp/node "$bundle" --out "$OUT" "$@"
fi
rc=$?
echo "== exit $rc"
exit $rc

#!/usr/bin/env bash
# Adds a bundle of benchmarks/router/run.ts to .device/ (after prepare.sh or one of the prepare-*.sh
# scripts that call it) for tools/device/run-router.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/device/bundle.sh
device_bundle benchmarks/router/run.ts .device/router.mjs

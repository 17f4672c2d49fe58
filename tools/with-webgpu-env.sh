#!/usr/bin/env bash
# Runs a command with what Dawn (the `webgpu` npm package) needs to find a WebGPU adapter on a
# machine without a GPU: the SwiftShader Vulkan driver that Debian's chromium package carries
# (VK_ICD_FILENAMES), the Vulkan loader, and XDG_RUNTIME_DIR. Test suites run on cpu and webgpu.
#   tools/with-webgpu-env.sh <command...>        e.g. tools/with-webgpu-env.sh npx nx run-many -t test
# Environment: VK_ICD_FILENAMES (kept when set), FALCON_WEBGPU_ADAPTER=native (use the machine's own
# Vulkan drivers instead of SwiftShader), FALCON_TEST_BACKENDS (default cpu,webgpu).
set -euo pipefail

if [[ -z "${VK_ICD_FILENAMES:-}" && "${FALCON_WEBGPU_ADAPTER:-swiftshader}" != native ]]; then
  for f in /usr/lib/chromium/vk_swiftshader_icd.json /usr/lib/chromium-browser/vk_swiftshader_icd.json; do
    if [[ -f "$f" ]]; then export VK_ICD_FILENAMES="$f"; break; fi
  done
  if [[ -z "${VK_ICD_FILENAMES:-}" ]]; then
    echo "with-webgpu-env: no SwiftShader Vulkan driver (vk_swiftshader_icd.json) found;" \
      "install Debian's chromium package: apt-get install -y --no-install-recommends chromium libvulkan1" >&2
    exit 1
  fi
fi

# Dawn loads the Vulkan loader libvulkan.so.1 (Debian: libvulkan1). Without it, use the copy that
# chromium ships next to SwiftShader.
if [[ "$(/sbin/ldconfig -p 2>/dev/null)" != *'libvulkan.so.1 '* ]]; then
  if [[ -n "${VK_ICD_FILENAMES:-}" && -f "$(dirname "$VK_ICD_FILENAMES")/libvulkan.so.1" ]]; then
    export LD_LIBRARY_PATH="$(dirname "$VK_ICD_FILENAMES")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    echo "with-webgpu-env: the Vulkan loader libvulkan.so.1 is missing: apt-get install -y libvulkan1" >&2
    exit 1
  fi
fi

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
export FALCON_TEST_BACKENDS="${FALCON_TEST_BACKENDS:-cpu,webgpu}"

exec "$@"

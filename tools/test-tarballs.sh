#!/usr/bin/env bash
# The tarball install test (CI): packs every package with the release command, installs the
# tarballs into empty projects outside the repository (only the registry dependencies such as
# tfjs come from the registry), and uses them there as a user would:
#   1. every tarball has its LICENSE and README, the CUDA packages their csrc/, hybrid its corpus;
#   2. all packages: the prebuilt addons are found in the platform packages and load, ssdChunkScan
#      on cpu equals its reference, initBackend('cuda') explains what is missing (no GPU here), no
#      tfjs banner (tools/tarball-smoke.mjs); the installed `falcon info`, `falcon train --steps 2`
#      (default corpus) and `falcon generate` work; `falcon build-cuda` builds an addon from the
#      shipped sources into the installed package, which is then preferred;
#   3. @falcon/tensor alone (without its platform package): it installs, no Dawn (webgpu) comes
#      with it, node_modules stays small, and initBackend('webgpu') says to install `webgpu`.
# Usage: bash tools/test-tarballs.sh [RELEASE_DIR]   (default: run `node tools/release.mjs` into a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=$(mktemp -d /tmp/falcon-tarballs-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [ -n "${1:-}" ]; then REL=$(cd "$1" && pwd); else REL=$WORK/release; node tools/release.mjs --out "$REL"; fi
TGZ=$REL/tarballs
fail() { echo "TARBALL TEST FAILED: $*" >&2; exit 1; }
NPM_FLAGS=(--no-audit --no-fund --prefer-offline --loglevel=error)

echo "== 1. tarball contents"
for t in "$TGZ"/falcon-*.tgz; do
  list=$(tar tzf "$t")
  grep -qx 'package/LICENSE' <<<"$list" || fail "$(basename "$t") has no LICENSE"
  grep -qx 'package/README.md' <<<"$list" || fail "$(basename "$t") has no README.md"
done
for p in tensor mamba2 attention bitnet; do
  grep -q '^package/csrc/.*\.cu$' <<<"$(tar tzf "$TGZ/falcon-$p-0.1.0.tgz")" || fail "@falcon/$p does not ship its csrc/*.cu (falcon build-cuda needs them)"
  grep -qx "package/falcon_${p}_cuda.node" <<<"$(tar tzf "$TGZ/falcon-$p-linux-x64-cuda-0.1.0.tgz")" || fail "@falcon/$p-linux-x64-cuda has no addon"
done
grep -qx 'package/data/corpus.txt' <<<"$(tar tzf "$TGZ/falcon-hybrid-0.1.0.tgz")" || fail '@falcon/hybrid does not ship data/corpus.txt (the default corpus of falcon train)'
echo "ok"

echo "== 2. every package installed from the tarballs, in an empty project"
P=$WORK/all && mkdir -p "$P" && cd "$P"
npm init -y >/dev/null
npm install "${NPM_FLAGS[@]}" "$TGZ"/falcon-*.tgz
[ ! -e node_modules/webgpu ] || fail 'installing the @falcon packages pulled in webgpu (Dawn)'
cp "$REPO/tools/tarball-smoke.mjs" .
node tarball-smoke.mjs --backend cpu 2> smoke.err || { cat smoke.err; fail 'smoke checks on cpu'; }
! grep -q 'tfjs-node' smoke.err || fail 'the tfjs banner was printed'
npx falcon info --json > info.json
node -e "const j=require('./info.json'); if (j.packages['@falcon/hybrid'] !== '0.1.0') process.exit(1)" || fail 'falcon info'
npx falcon train --steps 2 --batch-size 2 --seqlen 32 --out run > train.log 2>&1 || { cat train.log; fail 'falcon train --steps 2 (default corpus)'; }
[ -f run/model.safetensors ] && [ -f run/config.json ] || fail 'falcon train saved no model'
npx falcon generate --model run --prompt 'The baker' --max-new-tokens 8 --json > gen.json 2> gen.err || { cat gen.err; fail 'falcon generate'; }
node -e "const j=JSON.parse(require('fs').readFileSync('gen.json','utf8').trim().split('\n').pop()); if (j.event!=='done' || !Array.isArray(j.ids) || typeof j.text !== 'string') process.exit(1); console.log('generated:', JSON.stringify(j.text))" || fail 'falcon generate output (the last --json event)'
! grep -q 'tfjs-node' train.log gen.err || fail 'the tfjs banner was printed by the CLI'
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  npx falcon build-cuda --arch sm_80 --package bitnet || fail 'falcon build-cuda from the installed package'
  [ -f node_modules/@falcon/bitnet/build/falcon_bitnet_cuda.node ] || fail 'falcon build-cuda wrote no addon into the installed package'
  node tarball-smoke.mjs --backend cpu --built bitnet > smoke2.log 2>&1 || { cat smoke2.log; fail 'the source-built addon is not preferred'; }
  echo "falcon build-cuda: bitnet built from the shipped csrc/ and preferred over the prebuilt addon"
else
  fail 'nvcc not found: CI builds the addons (the release command needs nvcc too)'
fi

echo "== 3. @falcon/tensor alone is lean (and installs where its platform package cannot be had)"
L=$WORK/lean && mkdir -p "$L" && cd "$L"
npm init -y >/dev/null
# Only the main tarball: npm looks for the optional @falcon/tensor-linux-x64-cuda, does not find it
# (unpublished), and must go on without it.
npm install "${NPM_FLAGS[@]}" "$TGZ/falcon-tensor-0.1.0.tgz"
[ ! -e node_modules/webgpu ] || fail 'npm i @falcon/tensor installed webgpu (Dawn, ~130 MB)'
kb=$(du -sk node_modules | cut -f1)
echo "node_modules: $((kb / 1024)) MiB"
# tfjs-core + its cpu and webgpu backends are ~70 MiB of it; Dawn would add ~130 MiB more.
[ "$kb" -lt $((100 * 1024)) ] || fail "npm i @falcon/tensor takes $((kb / 1024)) MiB"
cat > webgpu.mjs <<'JS'
import { initBackend, BackendUnavailableError } from '@falcon/tensor';
const e = await initBackend('webgpu').then(() => undefined, (x) => x);
if (!(e instanceof BackendUnavailableError) || !/install it with 'npm install webgpu'/.test(e.message)) { console.error('unexpected:', e?.message); process.exit(1); }
console.log(e.message);
JS
node webgpu.mjs || fail "initBackend('webgpu') without the webgpu package"
echo "== tarball install test: all checks pass"

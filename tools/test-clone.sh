#!/usr/bin/env bash
# A plain clone stands alone (CI): clones the committed repository into an empty temporary folder
# (nothing beside it, so no sibling folder can be read), runs `npm install` there, checks that it left
# package-lock.json as committed, runs the static checks (tools/check-repo.mjs) and the test
# suites that read the fixtures (checkpoint, hybrid's parity/layers/convert) in the clone.
# Usage: bash tools/test-clone.sh [REF]   (default HEAD; uncommitted changes are not in the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:-HEAD}
WORK=$(mktemp -d /tmp/falcon-clone-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
git clone --quiet --no-local --no-hardlinks . "$WORK/falcon"
cd "$WORK/falcon"
git checkout --quiet --detach "$(git -C "$OLDPWD" rev-parse "$REF")"
[ "$(ls -A "$WORK")" = falcon ] || { echo "the clone has company in $WORK" >&2; exit 1; }
echo "== clone of $(git rev-parse --short HEAD) in $WORK/falcon (nothing beside it)"
export NX_NO_CLOUD=true NX_DAEMON=false
npm install --no-audit --no-fund --prefer-offline --loglevel=error
git diff --exit-code --stat package-lock.json || { echo "npm install modified package-lock.json in a fresh clone: commit the lockfile npm writes" >&2; exit 1; }
node tools/check-repo.mjs
(cd packages/checkpoint && npx vitest run)
(cd packages/hybrid && npx vitest run test/parity.test.ts test/layers.test.ts test/convert.test.ts)
echo "== the clone stands alone: npm install, lockfile unchanged, fixture tests pass"

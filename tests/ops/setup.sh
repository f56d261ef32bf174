#!/usr/bin/env bash
# Installs the official AsyncAPI parser (@asyncapi/parser, pinned in asyncapi_parser/
# package-lock.json) that tests/ops uses to validate generated documents: npm ci, only when
# the lock file is newer than the installed tree (or with --force). Skips without npm; the
# AsyncAPI validation tests then skip too. Usage: bash tests/ops/setup.sh [--force]
set -euo pipefail
app="$(cd "$(dirname "$0")" && pwd)/asyncapi_parser"
if ! command -v npm >/dev/null 2>&1; then
  echo "ops setup: npm not found; the AsyncAPI parser tests will be skipped" >&2
  exit 0
fi
stamp="$app/node_modules/.package-lock.json"
if [ "${1:-}" = "--force" ] || [ ! -f "$stamp" ] || [ "$app/package-lock.json" -nt "$stamp" ]; then
  echo "ops setup: npm ci in $app" >&2
  (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
fi

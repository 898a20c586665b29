#!/usr/bin/env bash
# The Studio's checks (`make test` runs this as `studio-test`): install what is missing, check the API
# types against the services' OpenAPI documents (scripts/api-types.sh --check), typecheck,
# build, component tests (Vitest), then the end-to-end tests in Chromium against the real numbers-api.
#
#   STUDIO_SKIP_E2E=1   stop after the component tests
#   STUDIO_CHROMIUM     the browser binary (default /usr/bin/chromium; installed with apt-get if missing)
set -euo pipefail

STUDIO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$STUDIO/../.." && pwd)"
CHROMIUM="${STUDIO_CHROMIUM:-/usr/bin/chromium}"
export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
export PATH="$HOME/.local/bin:$PATH"

say() { printf '\n\033[1mstudio: %s\033[0m\n' "$*"; }

command -v node >/dev/null 2>&1 || { echo "studio: Node.js 20+ is required" >&2; exit 1; }
cd "$STUDIO"

# npm keeps its own copy of the lock in node_modules: reinstall only when package-lock.json moved on.
# `npm ci` installs the lock as committed and never rewrites it (`npm install` may, leaving the clone
# dirty). The lock lists every platform's optional packages (rollup's and esbuild's native builds);
# after changing package.json, regenerate it with `npm install` and commit both.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (from package-lock.json)"
  npm ci --no-audit --no-fund
fi

say "API types match the services' OpenAPI documents"
"$STUDIO/scripts/api-types.sh" --check
say "typecheck"
npx --no-install tsc --noEmit
say "build"
npx --no-install vite build --logLevel warn
say "component tests"
npx --no-install vitest run

if [ "${STUDIO_SKIP_E2E:-0}" = "1" ]; then
  say "end-to-end tests skipped (STUDIO_SKIP_E2E=1)"
  exit 0
fi

if [ ! -x "$CHROMIUM" ]; then
  say "installing Chromium (Debian)"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
fi

say "end-to-end tests (Chromium, real numbers-api)"
cd "$ROOT"
# A private base temp dir: other pytest runs on this machine rotate /tmp/pytest-of-$USER.
basetemp="$(mktemp -d -t studio-e2e.XXXXXX)"
trap 'rm -rf "$basetemp"' EXIT
# `--with playwright`: the Python package ships its driver; it never downloads a browser here.
uv run --frozen --all-packages --with 'playwright>=1.49' \
  pytest services/studio/tests --basetemp="$basetemp" -p no:cacheprovider -q

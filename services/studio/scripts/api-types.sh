#!/usr/bin/env bash
# The Studio's API types, generated from numbers-api's and call-orchestrator's OpenAPI documents
# (built from the apps' factories by scripts/openapi.py, turned into TypeScript by openapi-typescript).
#
#   scripts/api-types.sh          rewrite openapi/*.json and src/lib/generated/*.ts from the current apps
#   scripts/api-types.sh --check  fail, showing the difference, if the committed files are out of date
set -euo pipefail

STUDIO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$STUDIO/../.." && pwd)"
SERVICES=(numbers-api call-orchestrator)
export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

work="$(mktemp -d -t studio-api-types.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/openapi" "$work/generated"

(cd "$ROOT" && uv run --frozen --all-packages python services/studio/scripts/openapi.py "$work/openapi" >/dev/null)
for service in "${SERVICES[@]}"; do
  (cd "$STUDIO" && npx --no-install openapi-typescript "$work/openapi/$service.json" \
    -o "$work/generated/$service.ts" >/dev/null)
done

if [ "$check" = "0" ]; then
  mkdir -p "$STUDIO/openapi" "$STUDIO/src/lib/generated"
  for service in "${SERVICES[@]}"; do
    cp "$work/openapi/$service.json" "$STUDIO/openapi/$service.json"
    cp "$work/generated/$service.ts" "$STUDIO/src/lib/generated/$service.ts"
  done
  echo "studio: wrote openapi/*.json and src/lib/generated/*.ts"
  exit 0
fi

drift=0
for service in "${SERVICES[@]}"; do
  for pair in "openapi/$service.json:openapi/$service.json" "src/lib/generated/$service.ts:generated/$service.ts"; do
    committed="$STUDIO/${pair%%:*}"
    fresh="$work/${pair#*:}"
    if ! diff -u --label "committed ${pair%%:*}" --label "from the current $service" \
      "$committed" "$fresh" >"$work/diff" 2>&1; then
      drift=1
      echo "studio: services/studio/${pair%%:*} differs from what the current $service produces:" >&2
      head -n 60 "$work/diff" >&2
    fi
  done
done
if [ "$drift" = "1" ]; then
  echo "studio: the API contract changed; run services/studio/scripts/api-types.sh, fix the Studio" \
    "where it no longer typechecks, and commit the regenerated files" >&2
  exit 1
fi
echo "studio: API types match numbers-api's and call-orchestrator's OpenAPI documents"

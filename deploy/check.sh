#!/usr/bin/env bash
# Offline checks of the deployment files: docker-compose.yml (default and emulator profiles), the
# Helm chart (linted strictly, rendered for the default, production and other values, validated
# against the Kubernetes schemas, and asserted by deploy/check_deploy.py), the Dockerfile and the
# nginx gateway. Needs no Docker engine and no cluster. Idempotent: its tools live in
# deploy/.cache (git-ignored) and are installed only when missing or changed.
#   deploy/check.sh              everything
#   deploy/check.sh --skip-uv    without building the image venvs with uv
set -euo pipefail
started=$(date +%s)
cd "$(dirname "$0")/.."

export UV_PYTHON_DOWNLOADS=never
export PATH="$HOME/.local/bin:$PATH"
CACHE=deploy/.cache
VENV="$CACHE/venv"
REQUIREMENTS=deploy/requirements-check.txt

say() { printf '%s\n' "$*"; }

# --- tools ------------------------------------------------------------------------------------
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv
fi

stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing the check tools into $VENV"
    rm -rf "$VENV"
    uv venv --quiet --python 3.11 "$VENV"
    uv pip install --quiet --python "$VENV/bin/python" -r "$REQUIREMENTS"
    printf '%s\n' "$want" > "$stamp"
fi

if ! command -v docker-compose >/dev/null 2>&1; then
    say "Installing Debian's docker-compose"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

# --- checks -------------------------------------------------------------------------------------
status=0
say "docker-compose $(docker-compose version --short 2>/dev/null || echo '?')"
# An empty --env-file: check the defaults, not whatever a local .env holds.
mkdir -p "$CACHE"
: > "$CACHE/empty.env"
for profile in "" livekit emulator; do
    args=(--env-file "$CACHE/empty.env" -f docker-compose.yml)
    [ -n "$profile" ] && args+=(--profile "$profile")
    if docker-compose "${args[@]}" config -q; then
        say "  ok    docker-compose config -q${profile:+ --profile $profile}"
    else
        say "  FAIL  docker-compose config -q${profile:+ --profile $profile}"
        status=1
    fi
done

"$VENV/bin/python" deploy/check_deploy.py "$@" || status=1

say "deploy/check.sh: $( [ $status = 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - started ))s"
exit $status

# TalkifAI Telephony: `make run` starts the whole stack locally, `make test` checks everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export UV_PYTHON_DOWNLOADS := never
export PATH := $(HOME)/.local/bin:$(PATH)

UV := $(shell command -v uv 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: setup system-packages run demo test unit lint typecheck fmt pytest studio-test deploy-check asyncapi

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	uv sync --locked --all-packages

# Debian packages beside the Python ones (espeak-ng); `make run` goes on without them, with a line.
system-packages:
	@tools/dev/system-packages.sh

run: setup
	@tools/dev/system-packages.sh || echo "make run: agents with the espeak voice cannot speak until espeak-ng is installed"
	uv run python tools/dev/run.py

# One scripted conversation end to end, offline; prints where to listen to it.
demo: setup system-packages
	uv run python tools/dev/demo.py

test: setup lint typecheck pytest studio-test deploy-check

# The Studio and the deployment checks own their scripts; each installs what it needs.
studio-test: setup
	@if [ -x services/studio/scripts/test.sh ]; then services/studio/scripts/test.sh; fi

deploy-check: setup
	@if [ -x deploy/check.sh ]; then deploy/check.sh; fi

lint:
	uv run ruff check .
	uv run ruff format --check .

# call-orchestrator's tests join this list once they type-check.
TYPED_TEST_DIRS = libs/common/tests services/numbers-api/tests services/trunk-sync/tests \
	services/call-orchestrator/tests \
	services/agent-runtime/tests services/studio/tests tools/livekit-emulator/tests

typecheck:
	uv run mypy $(sort $(dir $(wildcard libs/*/src/*/__init__.py services/*/src/*/__init__.py tools/*/src/*/__init__.py))) tools/dev bench
	@# Test directories each have a `conftest` module: one mypy run per directory keeps them apart.
	uv run mypy tests conftest.py services/studio/scripts
	@for dir in $(TYPED_TEST_DIRS); do echo "uv run mypy $$dir"; uv run mypy $$dir || exit 1; done

pytest: system-packages
	uv run pytest $(PYTEST_ARGS)

# The fast tier: no PostgreSQL, nats-server or emulator (a unit test asking for one fails).
unit: setup system-packages
	uv run pytest -m unit -q $(PYTEST_ARGS)

fmt:
	uv run ruff format .
	uv run ruff check --fix .

asyncapi:
	uv run python -m talkifai_common.asyncapi > docs/asyncapi.json

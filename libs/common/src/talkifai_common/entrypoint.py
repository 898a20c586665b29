"""The services' command lines: settings load with a clear error, logging, tracing, serve/migrate.

A service's `main()` names its commands; `run_cli` parses the command, builds the settings from
the environment (a bad one exits with a message naming each variable), configures logging and
runs the command. `serve_http`, `start_telemetry` and `migrate_command` are the commands' shared
parts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import structlog
import uvicorn
from fastapi import FastAPI
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from pydantic import ValidationError

from talkifai_common.db import migrate
from talkifai_common.settings import DatabaseSettings, ServiceSettings
from talkifai_common.telemetry import configure_logging, configure_metrics, configure_tracing

S = TypeVar("S", bound=ServiceSettings)
log = structlog.get_logger(__name__)


def load_settings(settings_type: type[S], service: str) -> S:
    """The service's settings from the environment; exit naming each bad variable otherwise."""
    try:
        return settings_type()
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        sys.exit(f"{service}: invalid configuration: {messages}")


def run_cli(
    service: str,
    settings_type: type[S],
    commands: Mapping[str, Callable[[S], None]],
    *,
    argv: list[str] | None = None,
    description: str | None = None,
) -> None:
    """`<service> [command]`: the first of `commands` is the default."""
    names = list(commands)
    parser = argparse.ArgumentParser(prog=service, description=description)
    parser.add_argument("command", nargs="?", default=names[0], choices=names)
    args = parser.parse_args(argv)
    settings = load_settings(settings_type, service)
    configure_logging(service, level=settings.log_level, fmt=settings.log_format)
    commands[args.command](settings)


def start_telemetry(service: str, *, metrics: bool = True, database: bool = False) -> None:
    """Metrics and tracing when an exporter is configured; asyncpg spans for database services."""
    if metrics:
        configure_metrics(service)
    if configure_tracing(service) and database:
        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]


def serve_http(app: FastAPI, settings: ServiceSettings, *, port: int) -> None:
    """Serve the app with uvicorn (our logging, the settings' graceful shutdown)."""
    uvicorn.run(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )


def migrate_command(migrations: Path) -> Callable[[DatabaseSettings], None]:
    """The `migrate` command: apply the service's migrations to DATABASE_URL."""

    def run(settings: DatabaseSettings) -> None:
        migrate(settings.database_url, migrations)
        log.info("migrations.applied")

    return run

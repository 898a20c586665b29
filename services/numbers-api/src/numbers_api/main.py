"""numbers-api entrypoint: `create_app(settings)` builds everything; `main()` is the command line.

Commands: `numbers-api serve` (the default), `numbers-api migrate`, `numbers-api rotate-keys`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from pydantic import ValidationError

from numbers_api import handlers
from numbers_api.adapters.postgres import Store
from numbers_api.api import Services, include_routes
from numbers_api.config import Settings
from numbers_api.consumers import LiveEvents, register_consumers
from talkifai_common.api_docs import add_docs_routes
from talkifai_common.auth import HS256Verifier, JWKSVerifier, TokenVerifier
from talkifai_common.bus import JetStreamPublisher, create_broker, start_when_reachable
from talkifai_common.consumers import DeadLetters
from talkifai_common.db import create_pool, migrate
from talkifai_common.heap import freeze_startup_objects
from talkifai_common.outbox import OutboxRelay
from talkifai_common.settings import DEV_JWT_SECRET
from talkifai_common.telemetry import configure_logging, configure_metrics, configure_tracing
from talkifai_common.web import BodySizeLimit, add_health_routes, install_error_handlers

SERVICE = "numbers-api"
MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger(__name__)


def build_verifier(settings: Settings) -> TokenVerifier:
    """RS256 through JWKS when configured, HS256 otherwise."""
    if settings.auth_jwks_url:
        return JWKSVerifier(
            settings.auth_jwks_url, settings.auth_jwt_audience, settings.auth_jwt_issuer
        )
    return HS256Verifier(
        settings.jwt_secret(), settings.auth_jwt_audience, settings.auth_jwt_issuer
    )


def create_app(settings: Settings) -> FastAPI:
    """The numbers-api application; connections open in its lifespan."""
    shutting_down = asyncio.Event()
    live = LiveEvents()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
        store = Store(pool)
        broker = create_broker(settings.nats_url, name=SERVICE)
        dead_letters = DeadLetters(broker, SERVICE)
        register_consumers(broker, store, live, dead_letters, settings.retry_policy())
        bus_started = asyncio.Event()
        relay = OutboxRelay(settings.database_url, JetStreamPublisher(broker))
        app.state.services = Services(
            settings=settings,
            store=store,
            box=settings.secret_box(),
            verifier=build_verifier(settings),
            live=live,
            shutting_down=shutting_down,
        )
        app.state.broker = broker
        app.state.pool = pool
        bus_task = asyncio.create_task(
            start_when_reachable(broker, bus_started, prepare=dead_letters.ensure_stream),
            name="bus-start",
        )
        relay_task = asyncio.create_task(relay.run_after(bus_started), name="outbox-relay")
        freeze_startup_objects()
        try:
            yield
        finally:
            shutting_down.set()
            live.close_all()
            for task in (relay_task, bus_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(Exception):
                await broker.stop()
            await pool.close()

    app = FastAPI(
        title="TalkifAI numbers-api",
        version="0.1.0",
        description=(
            "Agents and phone numbers of each organization. Every request but health carries "
            "`Authorization: Bearer <JWT>`; errors are `application/problem+json`."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    add_docs_routes(app)
    include_routes(app, settings)

    async def database_ready() -> None:
        async with app.state.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def bus_ready() -> None:
        if not app.state.broker.connection.is_connected:
            raise ConnectionError("NATS is not connected")

    add_health_routes(app, {"database": database_ready, "nats": bus_ready})
    return app


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        sys.exit(f"numbers-api: invalid configuration: {messages}")


def main(argv: list[str] | None = None) -> None:
    """`numbers-api [serve|migrate|rotate-keys]`."""
    parser = argparse.ArgumentParser(prog=SERVICE, description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "rotate-keys"]
    )
    args = parser.parse_args(argv)
    settings = _load_settings()
    configure_logging(SERVICE, level=settings.log_level, fmt=settings.log_format)
    if args.command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
        log.info("migrations.applied")
        return
    if args.command == "rotate-keys":
        count = asyncio.run(_rotate(settings))
        log.info("keys.rotated", secrets=count)
        return
    configure_metrics(SERVICE)
    if configure_tracing(SERVICE):
        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    if settings.dev_mode and settings.jwt_secret() == DEV_JWT_SECRET:
        log.warning(
            "auth.dev_secret_in_use", hint="dev mode: tokens are signed with the dev default"
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )


async def _rotate(settings: Settings) -> int:
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        return await handlers.rotate_keys(Store(pool), settings.secret_box())
    finally:
        await pool.close()


if __name__ == "__main__":
    main()

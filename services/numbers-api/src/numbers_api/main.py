"""numbers-api entrypoint: `create_app(settings)` builds everything; `main()` is the command line.

Commands: `numbers-api serve` (the default), `numbers-api migrate`, `numbers-api rotate-keys`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import FastAPI

from numbers_api import handlers
from numbers_api.adapters.postgres import Store
from numbers_api.api import Context, include_routes
from numbers_api.config import Settings
from numbers_api.consumers import LiveEvents, register_consumers
from talkifai_common.bus import JetStreamPublisher, create_broker, start_when_reachable
from talkifai_common.consumers import DeadLetters
from talkifai_common.db import create_pool
from talkifai_common.entrypoint import migrate_command, run_cli, serve_http, start_telemetry
from talkifai_common.heap import freeze_startup_objects
from talkifai_common.outbox import OutboxRelay
from talkifai_common.periodic import repeat
from talkifai_common.settings import DEV_JWT_SECRET
from talkifai_common.web import add_health_routes, bus_check, pool_check, service_app

SERVICE = "numbers-api"
MIGRATIONS = Path(__file__).parent / "migrations"
TRUNK_RECHECK_POLL_S = 60.0  # how often a replica looks for numbers whose re-check is due
log = structlog.get_logger(__name__)


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
        app.state.context = Context(
            settings=settings,
            store=store,
            box=settings.secret_box(),
            verifier=settings.token_verifier(),
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
        tasks = [relay_task, bus_task]
        if settings.trunk_check_interval_s:
            box = app.state.context.box
            tasks.append(
                asyncio.create_task(
                    repeat(
                        lambda: handlers.recheck_due(store, box, settings),
                        TRUNK_RECHECK_POLL_S,
                        failure_event="trunk.recheck_failed",
                        first_now=False,
                        jitter=0.2,
                    ),
                    name="trunk-recheck",
                )
            )
        freeze_startup_objects()
        try:
            yield
        finally:
            shutting_down.set()
            live.close_all()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(Exception):
                await broker.stop()
            await pool.close()

    app = service_app(
        SERVICE,
        lifespan,
        description=(
            "Agents and phone numbers of each organization. Every request but health carries "
            "`Authorization: Bearer <JWT>`; errors are `application/problem+json`."
        ),
        max_body_bytes=settings.max_body_bytes,
    )
    include_routes(app, settings)
    add_health_routes(app, {"database": pool_check(app), "nats": bus_check(app)})
    return app


def serve(settings: Settings) -> None:
    """The `serve` command: the HTTP API, its consumers and the outbox relay."""
    start_telemetry(SERVICE, database=True)
    if settings.dev_mode and settings.jwt_secret() == DEV_JWT_SECRET:
        log.warning(
            "auth.dev_secret_in_use", hint="dev mode: tokens are signed with the dev default"
        )
    serve_http(create_app(settings), settings, port=settings.port)


def rotate_keys(settings: Settings) -> None:
    """The `rotate-keys` command: re-encrypt every SIP secret with the newest Fernet key."""
    count = asyncio.run(_rotate(settings))
    log.info("keys.rotated", secrets=count)


async def _rotate(settings: Settings) -> int:
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        return await handlers.rotate_keys(Store(pool), settings.secret_box())
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    """`numbers-api [serve|migrate|rotate-keys]`."""
    commands = {"serve": serve, "migrate": migrate_command(MIGRATIONS), "rotate-keys": rotate_keys}
    run_cli(SERVICE, Settings, commands, argv=argv, description=__doc__)


if __name__ == "__main__":
    main()

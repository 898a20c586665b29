"""trunk-sync entrypoint: `create_app(settings)` builds everything; `main()` is the command line.

The HTTP app only serves health (`/healthz`, `/readyz`); its lifespan runs the JetStream consumer
and the periodic full reconcile. Command: `trunk-sync serve` (the default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI

from talkifai_common.bus import create_broker, start_when_reachable
from talkifai_common.entrypoint import run_cli, serve_http, start_telemetry
from talkifai_common.heap import freeze_startup_objects
from talkifai_common.periodic import repeat
from talkifai_common.web import add_health_routes, bus_check, service_app
from trunk_sync.adapters.bus import BusResults, ReconcileLease
from trunk_sync.adapters.livekit import LiveKitAdapter
from trunk_sync.adapters.locks import KvNumberLeases
from trunk_sync.adapters.numbers_api import NumbersApiClient
from trunk_sync.config import Settings
from trunk_sync.consumers import register_consumers
from trunk_sync.handlers import Context, NumberLocks, full_reconcile

SERVICE = "trunk-sync"
LEASE_RELEASE_TIMEOUT_S = 1.0
log = structlog.get_logger(__name__)


async def _reconcile_forever(
    ctx: Context, lease: ReconcileLease, settings: Settings, bus_started: asyncio.Event
) -> None:
    """A full reconcile at start and every interval, by whichever replica holds the lease.

    A run that failed (numbers-api or LiveKit not up yet, as when everything starts at once) is
    tried again after 1, 2, 4... seconds, up to the interval.
    """
    await bus_started.wait()

    async def reconcile() -> None:
        if await lease.acquire():
            await full_reconcile(ctx, concurrency=settings.reconcile_concurrency)

    # A failed run costs nothing but time: the next one repairs whatever this one could not.
    await repeat(reconcile, settings.reconcile_interval_s, failure_event="reconcile.failed")


def create_app(settings: Settings) -> FastAPI:
    """The trunk-sync application; connections open in its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key, secret = settings.livekit_credentials()
        livekit = LiveKitAdapter(
            settings.livekit_url, key, secret, timeout_s=settings.livekit_timeout_s
        )
        numbers = NumbersApiClient(
            settings.numbers_api_url,
            settings.internal_token(),
            timeout_s=settings.numbers_api_timeout_s,
        )
        broker = create_broker(settings.nats_url, name=SERVICE)
        results = BusResults(broker, consumer=settings.consumer_durable)
        holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        leases = KvNumberLeases(
            broker,
            holder,
            ttl_s=settings.number_lock_ttl_s,
            # A message waiting for a lease must not be redelivered to another worker meanwhile.
            wait_s=min(settings.number_lock_wait_s, settings.ack_wait_s / 2),
        )
        ctx = Context(
            livekit=livekit,
            numbers=numbers,
            results=results,
            locks=NumberLocks(leases),
            allow_private_sip=settings.allows_private_sip_destinations,
        )
        policy = settings.retry_policy()
        register_consumers(
            broker,
            ctx,
            policy,
            durable=settings.consumer_durable,
            batch=settings.consumer_batch,
            ack_wait_s=settings.ack_wait_s,
        )
        lease = ReconcileLease(broker, holder, ttl_s=2 * settings.reconcile_interval_s + 10)
        app.state.context = ctx
        app.state.broker = broker
        bus_started = asyncio.Event()
        bus_task = asyncio.create_task(
            start_when_reachable(broker, bus_started, prepare=results.ensure_dead_letter_stream),
            name="bus",
        )
        reconcile_task = asyncio.create_task(
            _reconcile_forever(ctx, lease, settings, bus_started), name="reconcile"
        )
        freeze_startup_objects()
        try:
            yield
        finally:
            for task in (reconcile_task, bus_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # Bounded: with NATS going away at the same time the request would wait for its
            # timeout, and an unreleased lease only expires later.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.release(), LEASE_RELEASE_TIMEOUT_S)
            # FastStream lets in-flight messages finish (its graceful timeout) before closing.
            with contextlib.suppress(Exception):
                await broker.stop()
            await livekit.aclose()
            await numbers.aclose()

    app = service_app(SERVICE, lifespan)

    async def numbers_api_ready() -> None:
        await app.state.context.numbers.ping()

    async def livekit_ready() -> None:
        await app.state.context.livekit.ping()

    add_health_routes(
        app, {"nats": bus_check(app), "numbers_api": numbers_api_ready, "livekit": livekit_ready}
    )
    return app


def serve(settings: Settings) -> None:
    """The `serve` command: the consumer, the periodic reconcile and health."""
    start_telemetry(SERVICE)
    serve_http(create_app(settings), settings, port=settings.port)


def main(argv: list[str] | None = None) -> None:
    """`trunk-sync [serve]`."""
    run_cli(SERVICE, Settings, {"serve": serve}, argv=argv, description=__doc__)


if __name__ == "__main__":
    main()

"""call-orchestrator entrypoint: `create_app(settings)` builds everything; `main()` is the CLI.

Commands: `call-orchestrator serve` (the default), `call-orchestrator migrate`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import FastAPI
from livekit import api as lkapi

from call_orchestrator.adapters.livekit import LiveKitAdapter, LiveKitPort
from call_orchestrator.adapters.numbers_api import NumbersApiClient
from call_orchestrator.adapters.postgres import Stores
from call_orchestrator.adapters.recording_storage import RecordingFilesAdapter
from call_orchestrator.adapters.webhooks import WebhookSender
from call_orchestrator.api import include_routes
from call_orchestrator.campaign_rows_api import include_campaign_row_routes
from call_orchestrator.campaign_rules import Clock, SystemClock
from call_orchestrator.campaigns_api import CAMPAIGNS_PATH, include_campaign_routes
from call_orchestrator.config import Settings
from call_orchestrator.consumers import register_consumers
from call_orchestrator.costs_api import include_cost_routes
from call_orchestrator.do_not_call_api import include_do_not_call_routes
from call_orchestrator.handlers.agent_failures import watch_runtimes
from call_orchestrator.handlers.campaign_scheduler import CampaignScheduler
from call_orchestrator.handlers.context import BackgroundTasks, Context
from call_orchestrator.handlers.costs import cost_ended_calls_periodically
from call_orchestrator.handlers.live_call_check import check_live_calls_periodically
from call_orchestrator.handlers.read_models import refresh_read_model_periodically
from call_orchestrator.handlers.recording_files import delete_expired_recordings_periodically
from call_orchestrator.handlers.recording_uploads import upload_kept_recordings_periodically
from call_orchestrator.handlers.transcripts import ReportPolicy, queue_waiting_reports_periodically
from call_orchestrator.recordings_api import include_recording_routes
from talkifai_common.agent_capabilities import RuntimeBoard
from talkifai_common.bus import JetStreamPublisher, create_broker, start_when_reachable
from talkifai_common.consumers import DeadLetters
from talkifai_common.db import create_pool
from talkifai_common.entrypoint import migrate_command, run_cli, serve_http, start_telemetry
from talkifai_common.heap import freeze_startup_objects
from talkifai_common.outbox import OutboxRelay
from talkifai_common.web import add_health_routes, bus_check, pool_check, service_app

SERVICE = "call-orchestrator"
MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger(__name__)


def create_app(
    settings: Settings, livekit: LiveKitPort | None = None, clock: Clock | None = None
) -> FastAPI:
    """The call-orchestrator application; connections open in its lifespan (`clock`: the
    campaign scheduler's, the system's by default)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
        stores = Stores.create(pool, webhook_retry_window_s=settings.webhook_retry_window_s)
        await stores.live_calls.recount()
        key, secret = settings.livekit_credentials()
        port = livekit or LiveKitAdapter(
            settings.livekit_url,
            key,
            secret,
            timeout_s=settings.livekit_timeout_s,
            recording_filepath=settings.recording_filepath,
            recording_s3=settings.recording_s3,
        )
        broker = create_broker(settings.nats_url, name=SERVICE)
        dead_letters = DeadLetters(broker, SERVICE)
        reports = ReportPolicy(
            public_api_url=settings.public_api_url, wait_s=settings.report_wait_s
        )
        register_consumers(broker, stores, dead_letters, settings.retry_policy(), reports)
        bus_started = asyncio.Event()
        relay = OutboxRelay(settings.database_url, JetStreamPublisher(broker))
        background = BackgroundTasks()
        runtimes = RuntimeBoard()
        recording_files = RecordingFilesAdapter(
            settings.recording_s3,
            url_ttl_s=settings.recording_url_ttl_s,
            timeout_s=settings.recording_storage_timeout_s,
        )
        app.state.context = Context(
            stores=stores,
            livekit=port,
            settings=settings,
            background=background,
            runtimes=runtimes,
            recording_files=recording_files,
        )
        app.state.verifier = settings.token_verifier()
        app.state.webhook_receiver = lkapi.WebhookReceiver(lkapi.TokenVerifier(key, secret))
        app.state.pool = pool
        app.state.broker = broker
        app.state.bus_started = bus_started
        app.state.webhook_sender = sender = WebhookSender(
            stores.deliveries,
            secret=settings.signing_secret(),
            allow_private=settings.allows_private_webhooks,
            timeout_s=settings.webhook_timeout_s,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            poll_interval_s=settings.webhook_poll_interval_s,
        )
        tasks = [
            asyncio.create_task(
                start_when_reachable(broker, bus_started, prepare=dead_letters.ensure_stream),
                name="bus-start",
            ),
            asyncio.create_task(relay.run_after(bus_started), name="outbox-relay"),
            asyncio.create_task(
                watch_runtimes(runtimes, broker, bus_started), name="agent-runtimes"
            ),
            asyncio.create_task(sender.run(), name="customer-webhooks"),
            asyncio.create_task(
                check_live_calls_periodically(app.state.context), name="live-call-check"
            ),
            asyncio.create_task(
                cost_ended_calls_periodically(stores, settings.costing_interval_s),
                name="call-costs",
            ),
            asyncio.create_task(
                delete_expired_recordings_periodically(app.state.context),
                name="recording-retention",
            ),
            asyncio.create_task(
                upload_kept_recordings_periodically(app.state.context), name="recording-uploads"
            ),
            asyncio.create_task(
                queue_waiting_reports_periodically(stores, reports, settings.report_interval_s),
                name="call-reports",
            ),
        ]
        scheduler = CampaignScheduler(app.state.context, clock or SystemClock())
        app.state.campaign_scheduler = scheduler
        scheduling: asyncio.Task[None] | None = None
        if settings.campaign_scheduler:
            scheduling = asyncio.create_task(scheduler.run(), name="campaign-scheduler")
        numbers: NumbersApiClient | None = None
        if settings.numbers_api_url:
            numbers = NumbersApiClient(settings.numbers_api_url, settings.internal_token())
            tasks.append(
                asyncio.create_task(
                    refresh_read_model_periodically(
                        stores.read_models, numbers, settings.read_model_refresh_interval_s
                    ),
                    name="read-model-refresh",
                )
            )
        else:
            log.info("read_model.events_only", reason="NUMBERS_API_URL is not set")
        freeze_startup_objects()
        try:
            yield
        finally:
            if scheduling is not None:
                # No new campaign dial once shutting down; the ones placed finish below.
                scheduling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduling
            # Calls being placed in the background get the grace period to finish and record.
            await background.drain(settings.shutdown_grace_s)
            for task in tasks:
                task.cancel()
                # A background task that died must not fail the shutdown: log it and go on.
                try:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                except Exception:
                    log.exception("shutdown.task_failed", task=task.get_name())
            with contextlib.suppress(Exception):
                await broker.stop()
            if numbers is not None:
                await numbers.aclose()
            await port.aclose()
            recording_files.close()
            await pool.close()
            log.info("shutdown.complete")

    app = service_app(
        SERVICE,
        lifespan,
        description=(
            "Outbound calls, call history, hanging up, transcripts, recordings, cost per call "
            "(rate deck, usage), campaigns (batches of outbound calls) and the do-not-call list, "
            "LiveKit webhooks and recording consent. Every request but health and "
            "`/livekit/webhook` carries `Authorization: Bearer <JWT>` (internal routes: the "
            "internal token). The `webhooks` section shows the end-of-call report a number's "
            "webhook URL receives. `POST /telephony/outbound-call` answers errors as "
            '`{"success": false, "error", "message", "sip_status_code"}`; other routes use '
            "`application/problem+json`."
        ),
        max_body_bytes=settings.max_body_bytes,
        body_limits={CAMPAIGNS_PATH: settings.campaign_max_upload_bytes},
    )
    include_routes(app)
    include_cost_routes(app)
    include_recording_routes(app)
    include_campaign_routes(app)
    include_campaign_row_routes(app)
    include_do_not_call_routes(app)

    async def webhooks_ready() -> None:
        app.state.webhook_sender.check_ready()

    add_health_routes(
        app, {"database": pool_check(app), "nats": bus_check(app), "webhooks": webhooks_ready}
    )
    return app


def serve(settings: Settings) -> None:
    """The `serve` command: the HTTP API, its consumers and background tasks."""
    start_telemetry(SERVICE, database=True)
    serve_http(create_app(settings), settings, port=settings.port)


def main(argv: list[str] | None = None) -> None:
    """`call-orchestrator [serve|migrate]`."""
    commands = {"serve": serve, "migrate": migrate_command(MIGRATIONS)}
    run_cli(SERVICE, Settings, commands, argv=argv, description=__doc__)


if __name__ == "__main__":
    main()

"""agent-runtime entrypoint: the livekit-agents worker plus a health server on AGENT_RUNTIME_PORT.

Commands: `agent-runtime serve` (the default). Jobs run as threads of this process; the read
models, the bus and the HTTP clients live on its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from livekit.agents import AgentServer

from agent_runtime.adapters.numbers_api import NumbersApiClient
from agent_runtime.adapters.orchestrator import OrchestratorClient
from agent_runtime.capabilities import advertise_when_ready
from agent_runtime.config import Settings
from agent_runtime.consumers import register_consumers
from agent_runtime.directory import AgentDirectory, NumberDirectory
from agent_runtime.handlers import Context
from agent_runtime.shutdown import stop_within
from agent_runtime.worker import create_server
from talkifai_common.bus import JetStreamPublisher, create_broker, encode_event, ensure_stream
from talkifai_common.entrypoint import run_cli, start_telemetry
from talkifai_common.events import CloudEvent
from talkifai_common.web import add_health_routes

SERVICE = "agent-runtime"
log = structlog.get_logger(__name__)


class BusEvents:
    """EventSink over JetStream (deduplicated by event id)."""

    def __init__(self, broker: NatsBroker) -> None:
        self._publisher = JetStreamPublisher(broker)

    async def publish(self, event: CloudEvent[Any]) -> None:
        """Publish one event and wait for JetStream's acknowledgement."""
        await self._publisher.publish_all([encode_event(event)])


@dataclass
class Worker:
    """The running pieces, for health checks and shutdown."""

    ctx: Context
    server: AgentServer
    broker: NatsBroker
    numbers_api: NumbersApiClient
    registered: asyncio.Event
    bus_ready: asyncio.Event


async def _start_bus(worker: Worker) -> None:
    """Connect to NATS and load the numbers, retrying until both answer."""
    delay = 0.2
    while True:
        try:
            if not worker.bus_ready.is_set():
                await worker.broker.connect()
                await ensure_stream(worker.broker)
                await worker.broker.start()
                worker.bus_ready.set()
                log.info("bus.connected")
            count = await worker.ctx.numbers.load()
            log.info("read_model.loaded", phone_numbers=count)
            return
        except Exception as exc:
            log.warning("startup.retry", error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)


async def resync_read_models(agents: AgentDirectory, numbers: NumberDirectory) -> None:
    """Catch up on the events missed while NATS was unreachable, retrying until numbers-api
    answers. Agents are dropped and fetched again on their next call."""
    agents.forget()
    delay = 0.2
    while True:
        try:
            count = await numbers.load()
        except Exception as exc:
            log.warning("read_model.resync_retry", error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
        else:
            log.info("read_model.resynced", phone_numbers=count)
            return


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[Worker]:
    """Build and start everything; stop it all on exit."""
    numbers_api = NumbersApiClient(settings.numbers_api_url, settings.internal_token())
    agents = AgentDirectory(numbers_api)
    numbers = NumberDirectory(numbers_api)
    resyncs: set[asyncio.Task[None]] = set()

    async def on_reconnected() -> None:
        log.info("bus.reconnected")
        task = asyncio.create_task(resync_read_models(agents, numbers), name="read-model-resync")
        resyncs.add(task)
        task.add_done_callback(resyncs.discard)

    broker = create_broker(settings.nats_url, name=SERVICE, on_reconnected=on_reconnected)
    register_consumers(broker, agents, numbers)
    orchestrator = OrchestratorClient(settings.call_orchestrator_url, settings.internal_token())
    ctx = Context(
        settings=settings,
        agents=agents,
        numbers=numbers,
        events=BusEvents(broker),
        consent=orchestrator,
        loop=asyncio.get_running_loop(),
        failures=orchestrator,
    )
    server = create_server(ctx)
    registered = asyncio.Event()
    server.on("worker_registered", lambda *_: registered.set())
    worker = Worker(ctx, server, broker, numbers_api, registered, asyncio.Event())
    bus_task = asyncio.create_task(_start_bus(worker), name="bus-start")
    advertise_task = asyncio.create_task(
        advertise_when_ready(
            broker, settings.agent_name, ctx.env, worker.registered, worker.bus_ready
        ),
        name="advertise-capabilities",
    )
    server_task = asyncio.create_task(server.run(devmode=settings.dev_mode), name="agent-server")
    try:
        yield worker
    finally:
        for task in (advertise_task, bus_task, *resyncs):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        bound_s = settings.shutdown_step_timeout_s
        await stop_within("agent_server", server.aclose(), bound_s)
        # asyncio.wait neither raises the task's error nor cancels it at the deadline.
        await stop_within("agent_server_run", asyncio.wait([server_task]), bound_s)
        server_task.cancel()
        await stop_within("bus", broker.stop(), bound_s)
        await stop_within("numbers_api_client", numbers_api.aclose(), bound_s)


def create_health_app(worker: Worker) -> FastAPI:
    """`/healthz` (process up) and `/readyz` (registered with LiveKit, bus up, numbers loaded)."""
    app = FastAPI(title="TalkifAI agent-runtime", version="0.1.0", docs_url=None, redoc_url=None)

    async def livekit_ready() -> None:
        if not worker.registered.is_set():
            raise ConnectionError("the worker is not registered with LiveKit")

    async def bus_ready() -> None:
        if not worker.bus_ready.is_set() or not worker.broker.connection.is_connected:
            raise ConnectionError("NATS is not connected")

    async def read_model_ready() -> None:
        if not worker.ctx.numbers.loaded:
            raise ConnectionError("the phone numbers are not loaded yet")

    add_health_routes(
        app, {"livekit": livekit_ready, "nats": bus_ready, "read_model": read_model_ready}
    )
    return app


async def serve(settings: Settings) -> None:
    """Run the worker and the health server until SIGINT/SIGTERM (uvicorn catches them)."""
    async with running_worker(settings) as worker:
        config = uvicorn.Config(
            create_health_app(worker),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
        await uvicorn.Server(config).serve()
        log.info("shutdown.requested")


def serve_command(settings: Settings) -> None:
    """The `serve` command: the worker and its health server."""
    start_telemetry(SERVICE, metrics=False)
    asyncio.run(serve(settings))


def main(argv: list[str] | None = None) -> None:
    """`agent-runtime [serve]`."""
    run_cli(SERVICE, Settings, {"serve": serve_command}, argv=argv, description=__doc__)


if __name__ == "__main__":
    main()

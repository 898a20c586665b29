"""Every service of the product running in this process against real PostgreSQL, nats-server
and the LiveKit emulator: numbers-api, trunk-sync and call-orchestrator (`running_services`), and
with agent-runtime's worker (`running_stack`). A test sets the provider variables agent-runtime
reads (its environment) before entering `running_stack`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import nats

from agent_runtime.config import Settings as AgentRuntimeSettings
from agent_runtime.main import Worker, running_worker
from call_orchestrator.config import Settings as OrchestratorSettings
from call_orchestrator.main import MIGRATIONS as ORCHESTRATOR_MIGRATIONS
from call_orchestrator.main import create_app as create_orchestrator_app
from livekit_emulator.testing import RunningEmulator, running_emulator
from numbers_api.main import MIGRATIONS as NUMBERS_MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import RuntimeBoard
from tests.support.agent_runtimes import forget_agent_runtimes
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import (
    INTERNAL_TOKEN,
    JWT_SECRET,
    eventually,
    numbers_settings,
    sync_settings,
    token_factory,
    wait_ready,
)
from trunk_sync.main import create_app as create_sync_app

LIVEKIT_KEY, LIVEKIT_SECRET = "e2e-test-key", "e2e-test-livekit-secret-0123456789abcdef"
WEBHOOK_SECRET = "e2e-webhook-signing-secret-0123456789"


@dataclass
class Services:
    """The services a call goes through (all but agent-runtime), running."""

    api: Api
    api_url: str
    calls: httpx.AsyncClient
    calls_url: str
    lk: RunningEmulator
    runtimes: RuntimeBoard
    orchestrator_db: str


@dataclass
class Stack:
    """Every service, running."""

    api: Api
    calls: httpx.AsyncClient
    lk: RunningEmulator
    worker: Worker
    runtimes: RuntimeBoard
    orchestrator_db: str
    events: list[dict[str, Any]]


@contextlib.asynccontextmanager
async def running_services(
    database_factory: DatabaseFactory, clean_stream: str
) -> AsyncIterator[Services]:
    """numbers-api, trunk-sync and call-orchestrator on fresh databases, with the LiveKit
    emulator (webhooks to call-orchestrator); no agent-runtime is advertised yet."""
    await forget_agent_runtimes(clean_stream)
    numbers_app = create_numbers_app(
        numbers_settings(await database_factory(NUMBERS_MIGRATIONS), clean_stream)
    )
    orchestrator_db = await database_factory(ORCHESTRATOR_MIGRATIONS)
    orchestrator_port = devinfra.free_port()
    webhook = f"http://127.0.0.1:{orchestrator_port}/livekit/webhook"
    async with (
        running_emulator(
            api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET, webhook_urls=[webhook]
        ) as lk,
        serve_asgi(numbers_app) as api_url,
        httpx.AsyncClient(base_url=api_url, timeout=10) as http,
    ):
        api = Api(base_url=api_url, http=http, token=token_factory(), app=numbers_app)
        await api.wait_bus_ready()
        orchestrator_app = create_orchestrator_app(
            OrchestratorSettings(
                dev_mode=False,
                database_url=orchestrator_db,
                nats_url=clean_stream,
                auth_jwt_secret=JWT_SECRET,
                internal_api_token=INTERNAL_TOKEN,
                webhook_signing_secret=WEBHOOK_SECRET,
                livekit_url=lk.url,
                livekit_api_key=lk.api_key,
                livekit_api_secret=lk.api_secret,
                answer_poll_interval_s=0.05,
                log_format="console",
                shutdown_grace_s=0.3,
            )
        )
        async with (
            serve_asgi(create_sync_app(sync_settings(api_url, clean_stream, lk))) as sync_url,
            serve_asgi(orchestrator_app, port=orchestrator_port) as orchestrator_url,
            httpx.AsyncClient(base_url=orchestrator_url, timeout=30) as calls,
        ):
            await wait_ready(sync_url)
            await wait_ready(orchestrator_url)
            runtimes: RuntimeBoard = orchestrator_app.state.context.runtimes
            yield Services(api, api_url, calls, orchestrator_url, lk, runtimes, orchestrator_db)


@contextlib.asynccontextmanager
async def running_stack(
    database_factory: DatabaseFactory, clean_stream: str
) -> AsyncIterator[Stack]:
    """Start everything; agent-runtime reads its provider keys from the process environment."""
    async with running_services(database_factory, clean_stream) as services:
        settings = AgentRuntimeSettings(
            dev_mode=True,  # no CPU-load refusal on a busy test machine
            nats_url=clean_stream,
            numbers_api_url=services.api_url,
            call_orchestrator_url=services.calls_url,
            internal_api_token=INTERNAL_TOKEN,
            livekit_url=services.lk.url,
            livekit_api_key=services.lk.api_key,
            livekit_api_secret=services.lk.api_secret,
            log_format="console",
        )
        events: list[dict[str, Any]] = []
        watcher = await nats.connect(clean_stream)

        async def record(msg: Any) -> None:
            events.append(json.loads(msg.data))

        await watcher.subscribe("telephony.call.>", cb=record)
        async with running_worker(settings) as worker:
            runtimes = services.runtimes

            async def advertised() -> bool:
                return worker.registered.is_set() and bool(runtimes.live("talkifai-agent"))

            await eventually(advertised, within_s=20)
            yield Stack(
                services.api,
                services.calls,
                services.lk,
                worker,
                runtimes,
                services.orchestrator_db,
                events,
            )
        await watcher.close()


async def number_with_outbound_agent(
    api: Api, orchestrator_db: str, number: str, **settings: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A number (`settings`: its fields besides the termination) with an outbound agent "Sales",
    once trunk-sync synced it and call-orchestrator knows both: the agent and the number."""
    agent = await api.agent("Sales", greeting="Hi, this is Sales.")
    created = await api.number(
        number,
        termination_uri="sip.example.com",
        sip_username="acme",
        sip_password="pa55-word-e2e",
        **settings,
    )
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": number, "outbound_agent_id": agent["id"]},
    )
    assert response.status_code == 200, response.text
    conn = await asyncpg.connect(orchestrator_db)
    try:

        async def known() -> bool:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM phone_numbers n "
                    "JOIN agents a ON a.id = n.outbound_agent_id "
                    "JOIN phone_number_sync s ON s.phone_number_id = n.id "
                    "WHERE s.outbound_trunk_id IS NOT NULL AND a.provider_keys IS NOT NULL"
                )
            )

        await eventually(known, within_s=20)
    finally:
        await conn.close()
    return agent, created

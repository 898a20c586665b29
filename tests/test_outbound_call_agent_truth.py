"""Outbound calls never report success for an agent that cannot run or fails, end to end: numbers-api
-> NATS -> trunk-sync -> LiveKit (the emulator); call-orchestrator places the call, agent-runtime's
real worker advertises its provider keys, takes the job and reports its failure.

Without provider keys the call is refused before anyone is rung. With keys the agent is
dispatched, tries to join and is refused (the emulator carries no media): while the callee still
rings, the caller is told the agent failed, with its error, and so are history and the events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from agent_runtime.config import Settings as AgentRuntimeSettings
from agent_runtime.main import Worker, running_worker
from call_orchestrator.config import Settings as OrchestratorSettings
from call_orchestrator.main import MIGRATIONS as ORCHESTRATOR_MIGRATIONS
from call_orchestrator.main import create_app as create_orchestrator_app
from livekit_emulator.testing import RunningEmulator, running_emulator
from numbers_api.main import MIGRATIONS as NUMBERS_MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import ALL_KEYS, RuntimeBoard
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

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

NUMBER = "+12025550177"
CALLEE = "+14155550123"
LIVEKIT_KEY, LIVEKIT_SECRET = "e2e-test-key", "e2e-test-livekit-secret-0123456789abcdef"
# The default pipeline's providers (Deepgram, OpenAI, Cartesia): keys are only read, never used.
PROVIDER_KEYS = {"OPENAI_API_KEY": "sk-test", "DEEPGRAM_API_KEY": "dg", "CARTESIA_API_KEY": "ca"}
WEBHOOK_SECRET = "e2e-webhook-signing-secret-0123456789"


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


@pytest.fixture
def provider_keys() -> dict[str, str]:
    """The provider keys set where agent-runtime runs (a test overrides it)."""
    return PROVIDER_KEYS


@pytest.fixture
async def stack(
    database_factory: DatabaseFactory,
    clean_stream: str,
    monkeypatch: pytest.MonkeyPatch,
    provider_keys: dict[str, str],
) -> AsyncIterator[Stack]:
    for name in ALL_KEYS:
        monkeypatch.delenv(name, raising=False)
    for name, value in provider_keys.items():
        monkeypatch.setenv(name, value)
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
            settings = AgentRuntimeSettings(
                dev_mode=True,  # no CPU-load refusal on a busy test machine
                nats_url=clean_stream,
                numbers_api_url=api_url,
                call_orchestrator_url=orchestrator_url,
                internal_api_token=INTERNAL_TOKEN,
                livekit_url=lk.url,
                livekit_api_key=lk.api_key,
                livekit_api_secret=lk.api_secret,
                log_format="console",
            )
            events: list[dict[str, Any]] = []
            watcher = await nats.connect(clean_stream)

            async def record(msg: Any) -> None:
                events.append(json.loads(msg.data))

            await watcher.subscribe("telephony.call.>", cb=record)
            async with running_worker(settings) as worker:
                runtimes: RuntimeBoard = orchestrator_app.state.context.runtimes

                async def advertised() -> bool:
                    return worker.registered.is_set() and bool(runtimes.live("talkifai-agent"))

                await eventually(advertised, within_s=20)
                yield Stack(api, calls, lk, worker, runtimes, orchestrator_db, events)
            await watcher.close()


async def _number_with_outbound_agent(stack: Stack) -> dict[str, Any]:
    """A synced number whose outbound agent call-orchestrator knows."""
    agent = await stack.api.agent("Sales", greeting="Hi, this is Sales.")
    await stack.api.number(
        NUMBER, termination_uri="sip.example.com", sip_username="acme", sip_password="pa55-word-e2e"
    )
    response = await stack.api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": NUMBER, "outbound_agent_id": agent["id"]},
    )
    assert response.status_code == 200, response.text
    conn = await asyncpg.connect(stack.orchestrator_db)
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
    return agent


async def _call(stack: Stack) -> httpx.Response:
    return await stack.calls.post(
        "/telephony/outbound-call",
        json={"to_number": CALLEE, "from_number": NUMBER},
        headers={"Authorization": f"Bearer {token_factory()('org_a')}"},
    )


@pytest.mark.parametrize("provider_keys", [{}])
async def test_a_call_to_an_agent_without_provider_keys_is_refused_and_nobody_is_rung(
    stack: Stack,
) -> None:
    await _number_with_outbound_agent(stack)

    response = await _call(stack)

    assert response.status_code == 500, response.text
    assert response.json() == {
        "success": False,
        "error": "agent_provider_key_missing",
        "message": "Server error: the agent cannot run: no agent runtime has its providers' API "
        "keys (set CARTESIA_API_KEY, DEEPGRAM_API_KEY, OPENAI_API_KEY (or OPENAI_BASE_URL) where "
        "agent-runtime runs)",
    }
    state = await stack.lk.control.state()
    assert state["calls"] == []
    assert state["participants"] == []
    assert state["jobs"] == []


async def test_an_agent_failing_while_the_callee_rings_fails_the_call_with_the_agents_error(
    stack: Stack,
) -> None:
    agent = await _number_with_outbound_agent(stack)
    await stack.lk.control.set_outcome(CALLEE, ring_ms=30_000)
    # The room refuses the agent's join: the agent fails while the callee's phone rings.
    await stack.lk.control.set_faults(refuse_joins=True)

    response = await _call(stack)

    assert response.status_code == 500, response.text
    body = response.json()
    assert body["error"] == "agent_failed"
    assert body["message"].startswith("Server error: the agent failed: LiveKit join room failed")
    headers = {"Authorization": f"Bearer {token_factory()('org_a')}"}
    [call] = (await stack.calls.get("/calls", headers=headers)).json()["items"]
    assert (call["status"], call["failure_reason"]) == ("failed", "agent_failed")
    assert call["failure_detail"].startswith("LiveKit join room failed")

    async def failed_event() -> dict[str, Any] | None:
        return next((e for e in stack.events if e["type"].endswith("call.failed.v1")), None)

    event = await eventually(failed_event, within_s=10)
    assert event["subject"] == call["id"]
    assert event["data"]["failure_reason"] == "agent_failed"
    assert event["data"]["agent"]["id"] == agent["id"]
    # The callee's phone stopped ringing: the SIP participant left with the room.
    state = await stack.lk.control.state()
    assert all(p["room_name"] != call["room_name"] for p in state["participants"])

"""An inbound call, end to end through every service: numbers-api -> NATS -> trunk-sync -> LiveKit
(the emulator) -> agent-runtime's worker.

A number with an inbound agent becomes a trunk and a dispatch rule; an emulated carrier INVITE
creates the room and dispatches `talkifai-agent`; our registered worker accepts the job with the
dispatch rule's metadata, reads the agent from numbers-api, builds its pipeline and tries to join.
The emulator carries no media, so the join is refused: the job must end in a call failure event
naming the agent and the number, and the room must be hung up (never a silent call).

Then the read models' catch-up: changes that reached numbers-api without an event (as when
agent-runtime was cut off from NATS while they were published) are picked up after a
reconnection to nats-server.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from agent_runtime.config import Settings as AgentRuntimeSettings
from agent_runtime.main import Worker, running_worker
from livekit_emulator.rtc import JOIN_REFUSED
from livekit_emulator.testing import RunningEmulator, running_emulator
from numbers_api.main import MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common import devinfra
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import (
    INTERNAL_TOKEN,
    eventually,
    numbers_settings,
    sync_settings,
    token_factory,
    wait_ready,
)
from trunk_sync.main import create_app as create_sync_app

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

NUMBER = "+12025550188"
CALLER = "+14155550100"
# The default pipeline's providers (Deepgram, OpenAI, Cartesia): keys are only read, never used.
LIVEKIT_KEY, LIVEKIT_SECRET = "e2e-test-key", "e2e-test-livekit-secret-0123456789abcdef"
PROVIDER_KEYS = {"OPENAI_API_KEY": "sk-test", "DEEPGRAM_API_KEY": "dg", "CARTESIA_API_KEY": "ca"}


class RestartableNats:
    """nats-server on a fixed port and store, which a test may restart."""

    def __init__(self, store: Path) -> None:
        self._store, self._port = store, devinfra.free_port()
        self._server: contextlib.AbstractContextManager[str] | None = None

    def start(self) -> str:
        self._server = devinfra.running_nats(self._store, self._port)
        return self._server.__enter__()

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def restartable_nats(store: Path) -> Iterator[tuple[RestartableNats, str]]:
    server = RestartableNats(store)
    try:
        yield server, server.start()
    finally:
        server.stop()


@dataclass
class Stack:
    """Every service running against one nats-server that the test may restart."""

    api: Api
    lk: RunningEmulator
    worker: Worker
    database_url: str
    nats: RestartableNats
    events: list[dict[str, Any]]


@pytest.fixture
async def stack(
    tmp_path: Path, database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    for name, value in PROVIDER_KEYS.items():
        monkeypatch.setenv(name, value)
    with restartable_nats(tmp_path / "nats") as (nats_server, nats_url):
        database_url = await database_factory(MIGRATIONS)
        numbers_app = create_numbers_app(numbers_settings(database_url, nats_url))
        async with (
            running_emulator(api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET) as lk,
            serve_asgi(numbers_app) as api_url,
            httpx.AsyncClient(base_url=api_url, timeout=10) as http,
        ):
            api = Api(base_url=api_url, http=http, token=token_factory(), app=numbers_app)
            await api.wait_bus_ready()
            async with serve_asgi(create_sync_app(sync_settings(api_url, nats_url, lk))) as sync:
                await wait_ready(sync)
                settings = AgentRuntimeSettings(
                    dev_mode=True,  # no CPU-load refusal on a busy test machine
                    nats_url=nats_url,
                    numbers_api_url=api_url,
                    internal_api_token=INTERNAL_TOKEN,
                    livekit_url=lk.url,
                    livekit_api_key=lk.api_key,
                    livekit_api_secret=lk.api_secret,
                    log_format="console",
                )
                events: list[dict[str, Any]] = []
                watcher = await nats.connect(nats_url, max_reconnect_attempts=-1)

                async def record(msg: Any) -> None:
                    events.append(json.loads(msg.data))

                await watcher.subscribe("telephony.call.>", cb=record)
                async with running_worker(settings) as worker:
                    await eventually(lambda: _ready(worker), within_s=20)
                    yield Stack(api, lk, worker, database_url, nats_server, events)
                await watcher.close()


async def _ready(worker: Worker) -> bool:
    return worker.registered.is_set() and worker.ctx.numbers.loaded


async def _number_with_inbound_agent(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    agent = await api.agent("Front Desk", greeting="Thanks for calling!")
    number = await api.number(NUMBER, termination_uri="sip.example.com")
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": NUMBER, "inbound_agent_id": agent["id"]},
    )
    assert response.status_code == 200, response.text

    async def synced() -> bool:
        current = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
        return bool(current["sync"]["state"] == "synced" and current["inbound_agent"])

    await eventually(synced, within_s=15)
    return agent, number


async def test_an_inbound_call_reaches_our_worker_and_a_refused_join_ends_the_call_clearly(
    stack: Stack,
) -> None:
    agent, number = await _number_with_inbound_agent(stack.api)
    await stack.lk.control.set_faults(refuse_joins=True)

    call = await stack.lk.control.inbound_call(CALLER, NUMBER)

    async def job_ended() -> dict[str, Any] | None:
        jobs = (await stack.lk.control.state())["jobs"]
        job = next((j for j in jobs if j["room"] == call.room_name), None)
        return job if job and job["ended_at_ms"] else None

    job = await eventually(job_ended, within_s=20)
    workers = (await stack.lk.control.state())["workers"]
    assert job["agent_name"] == "talkifai-agent"
    assert job["worker_id"] == workers[0]["id"]
    assert job["accepted_at_ms"] is not None
    metadata = json.loads(job["metadata"])
    assert metadata["agent_id"] == agent["id"]
    assert metadata["phone_number_id"] == number["id"]
    # The room refused the worker's join, and the job says so.
    assert job["join_error"] == JOIN_REFUSED

    async def failure_event() -> dict[str, Any] | None:
        return next((e for e in stack.events if e["type"].endswith("call.agent_failed.v1")), None)

    failed = await eventually(failure_event, within_s=10)
    assert failed["orgid"] == "org_a"
    assert failed["data"]["agent_id"] == agent["id"]
    assert failed["data"]["phone_number"] == NUMBER
    assert failed["data"]["direction"] == "inbound"
    assert failed["data"]["reason"] == "livekit_error"
    assert failed["data"]["room_name"] == call.room_name

    async def room_gone() -> bool:
        rooms = (await stack.lk.control.state())["rooms"]
        return all(r["name"] != call.room_name for r in rooms)

    await eventually(room_gone, within_s=10)


async def test_changes_missed_while_cut_off_from_nats_are_caught_up_after_reconnecting(
    stack: Stack,
) -> None:
    agent, number = await _number_with_inbound_agent(stack.api)
    ctx = stack.worker.ctx
    await eventually(lambda: ctx.numbers.find(number["id"], None), within_s=10)
    assert (await ctx.agents.get(agent["id"])).agent.greeting == "Thanks for calling!"

    # Changes that produce no event agent-runtime hears: written behind the service's back.
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(
            "UPDATE agents SET config = jsonb_set(config, '{greeting}', '\"Hello again!\"') "
            "WHERE id = $1",
            agent["id"],
        )
        await conn.execute("DELETE FROM phone_numbers WHERE id = $1", number["id"])
    finally:
        await conn.close()

    stack.nats.restart()

    async def caught_up() -> bool:
        gone = await ctx.numbers.find(None, NUMBER) is None
        greeting = (await ctx.agents.get(agent["id"])).agent.greeting
        return gone and greeting == "Hello again!"

    await eventually(caught_up, within_s=20, every_s=0.1)

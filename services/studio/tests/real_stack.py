"""The real services behind the Studio's real-stack e2e tests (calls, campaigns): numbers-api,
trunk-sync and call-orchestrator on PostgreSQL and nats-server, LiveKit's emulator, a stand-in
agent-runtime advertising every provider key (no agent joins the room), and the Studio served in
front of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats

from livekit_emulator.testing import RunningEmulator
from talkifai_common.agent_capabilities import advertise
from tests.support import full_stack
from tests.support.agent_runtimes import every_key_runtime
from tests.support.databases import DatabaseFactory
from tests.support.full_stack import running_services
from tests.support.numbers_api import Api
from tests.support.trunk_sync import eventually

from .conftest import studio_server

NUMBER = "+12025550177"


@dataclass
class CallStack:
    """Every service a call needs, and the Studio in front of them."""

    api: Api
    calls: httpx.AsyncClient
    lk: RunningEmulator
    orchestrator_db: str
    studio_url: str

    def page_url(self, token: str, path: str = "/telephony/") -> str:
        return f"{self.studio_url}{path}#token={token}"


@contextlib.asynccontextmanager
async def running_call_stack(
    database_factory: DatabaseFactory, clean_stream: str
) -> AsyncIterator[CallStack]:
    """The services a call goes through, a stand-in agent-runtime advertising every provider key,
    and the Studio in front of them (the `call_stack` fixture)."""
    async with running_services(database_factory, clean_stream) as services:
        nc = await nats.connect(clean_stream)
        # A stand-in agent-runtime with every provider key: calls are not refused for want of one.
        advertiser = asyncio.create_task(advertise(nc.jetstream(), every_key_runtime))
        runtimes = services.runtimes

        async def advertised() -> bool:
            return bool(runtimes.live("talkifai-agent"))

        try:
            await eventually(advertised, within_s=20)
            with studio_server(services.api_url, services.calls_url) as studio_url:
                yield CallStack(
                    services.api, services.calls, services.lk, services.orchestrator_db, studio_url
                )
        finally:
            advertiser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await advertiser
            await nc.close()


async def number_with_outbound_agent(stack: CallStack) -> dict[str, Any]:
    """An active number recording every call, with an outbound agent, synced, known to
    call-orchestrator."""
    _, number = await full_stack.number_with_outbound_agent(
        stack.api, stack.orchestrator_db, NUMBER, recording_mode="all"
    )
    return number

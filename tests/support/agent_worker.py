"""Our agent worker (agent-runtime's AgentServer) registered with a LiveKit emulator, in this
process, reading agents and numbers from a dict and keeping the events it publishes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from livekit import api
from livekit.protocol import sip

from agent_runtime.config import Settings
from agent_runtime.directory import AgentDirectory, KnownAgent, KnownNumber, NumberDirectory
from agent_runtime.handlers import Context
from agent_runtime.worker import create_server
from livekit_emulator.testing import RunningEmulator
from talkifai_common.jobs import InboundJob
from tests.support.agent_fakes import FakeSource, RecordingEvents

REGISTER_TIMEOUT_S = 30.0  # a guard against hanging, never an expectation of speed


@dataclass
class WorkerStack:
    """The emulator, our registered worker, its read models and what it published."""

    lk: RunningEmulator
    ctx: Context
    source: FakeSource
    events: RecordingEvents


@contextlib.asynccontextmanager
async def registered_worker(
    lk: RunningEmulator,
    *,
    agents: Mapping[str, KnownAgent],
    numbers: Mapping[str, KnownNumber],
    env: Mapping[str, str],
    consent: Any = None,
    **settings: Any,
) -> AsyncIterator[WorkerStack]:
    """Run the worker until the block ends; `env` is what it reads provider keys from."""
    source = FakeSource(agents=dict(agents), numbers=dict(numbers))
    events = RecordingEvents()
    ctx = Context(
        settings=Settings(
            dev_mode=True,
            livekit_url=lk.url,
            livekit_api_key=lk.api_key,
            livekit_api_secret=lk.api_secret,
            **settings,
        ),
        agents=AgentDirectory(source),
        numbers=NumberDirectory(source),
        events=events,
        consent=consent,
        loop=asyncio.get_running_loop(),
        env=env,
    )
    server = create_server(ctx)
    task = asyncio.create_task(server.run(devmode=True))
    try:
        async with asyncio.timeout(REGISTER_TIMEOUT_S):
            while not (await lk.control.state())["workers"]:  # noqa: ASYNC110 - polled over HTTP
                await asyncio.sleep(0.02)
        yield WorkerStack(lk, ctx, source, events)
    finally:
        await server.aclose()
        await asyncio.gather(task, return_exceptions=True)


async def route_number(
    lk: RunningEmulator,
    number: str,
    *,
    agent_id: str | None = None,
    phone_number_id: str = "pn_1",
    org_id: str = "org_a",
    agent_name: str = "talkifai-agent",
) -> None:
    """The inbound trunk and dispatch rule trunk-sync writes for a number (created here
    directly): each call gets a room of its own, and our agent when `agent_id` is given."""
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        trunk = await lkapi.sip.create_inbound_trunk(
            sip.CreateSIPInboundTrunkRequest(
                trunk=sip.SIPInboundTrunkInfo(name=phone_number_id, numbers=[number])
            )
        )
        rule = sip.SIPDispatchRuleInfo(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")
            ),
        )
        if agent_id is not None:
            job = InboundJob(
                agent_id=agent_id,
                phone_number_id=phone_number_id,
                phone_number=number,
                org_id=org_id,
            )
            rule.room_config.agents.add(agent_name=agent_name, metadata=job.model_dump_json())
        await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=rule))
    finally:
        await lkapi.aclose()

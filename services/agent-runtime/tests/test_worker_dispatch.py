"""Our worker against the LiveKit emulator: registration, and an inbound call reaching it as a job.

number -> dispatch rule (trunk-sync's shape, created here with livekit-api) -> emulated inbound
call -> our worker accepts the job with the right metadata. Here the room refuses the agent's
join (an injected fault): that must end in a call failure event and a hung-up room. Calls that
talk are in test_voice_calls.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt  # noqa: F401  # the warning filter below names its class
import pytest
from livekit import api
from livekit.protocol import sip

from agent_runtime.directory import KnownAgent, KnownNumber
from livekit_emulator.rtc import JOIN_REFUSED
from livekit_emulator.testing import running_emulator
from talkifai_common.events import EventName
from talkifai_common.jobs import InboundJob
from tests.support.agent_fakes import agent_data, number_data
from tests.support.agent_worker import WorkerStack, registered_worker

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

WAIT_S = 15.0  # a guard against hanging, never an expectation of speed
KEYS = {"OPENAI_API_KEY": "sk-test", "DEEPGRAM_API_KEY": "dg", "CARTESIA_API_KEY": "ca"}


async def _until(check: Callable[[], Any]) -> Any:
    async with asyncio.timeout(WAIT_S):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[WorkerStack]:
    async with (
        running_emulator() as lk,
        registered_worker(
            lk,
            agents={"agent_1": KnownAgent("org_a", agent_data())},
            numbers={"pn_1": KnownNumber("org_a", number_data())},
            env=KEYS,
        ) as running,
    ):
        yield running


async def test_the_worker_registers_as_talkifai_agent(stack: WorkerStack) -> None:
    workers = (await stack.lk.control.state())["workers"]
    assert [w["agent_name"] for w in workers] == ["talkifai-agent"]


async def test_an_inbound_call_reaches_our_worker_with_the_numbers_metadata(
    stack: WorkerStack,
) -> None:
    lk = stack.lk
    await lk.control.reset()
    # The room refuses the agent's join, so the job ends here with a clear failure.
    await lk.control.set_faults(refuse_joins=True)
    stack.events.events.clear()
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        trunk = await lkapi.sip.create_inbound_trunk(
            sip.CreateSIPInboundTrunkRequest(
                trunk=sip.SIPInboundTrunkInfo(name="pn_1", numbers=["+12025550123"])
            )
        )
        rule = sip.SIPDispatchRuleInfo(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")
            ),
        )
        metadata = InboundJob(
            agent_id="agent_1", phone_number_id="pn_1", phone_number="+12025550123", org_id="org_a"
        ).model_dump_json()
        rule.room_config.agents.add(agent_name="talkifai-agent", metadata=metadata)
        await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=rule))

        call = await lk.control.inbound_call("+15550142", "+12025550123")

        async def finished_job() -> Any:
            jobs = (await lk.control.state())["jobs"]
            return jobs if jobs and jobs[0]["ended_at_ms"] else None

        jobs = await _until(finished_job)
        job = jobs[0]
        assert job["room"] == call.room_name
        assert job["agent_name"] == "talkifai-agent"
        assert job["metadata"] == metadata
        assert job["worker_id"] == (await lk.control.state())["workers"][0]["id"]
        assert job["accepted_at_ms"] is not None
        assert job["participant_identity"] == f"agent-{job['id']}"
        # The worker's join was refused, and the job says so.
        assert job["join_error"] == JOIN_REFUSED

        async def failure() -> Any:
            return [e for e in stack.events.events if e.name is EventName.CALL_AGENT_FAILED]

        failed = (await _until(failure))[0]
        assert failed.orgid == "org_a"
        assert failed.data.reason == "livekit_error"
        assert failed.data.room_name == call.room_name
        assert failed.data.agent_id == "agent_1"
        assert "join room" in failed.data.error

        async def room_gone() -> bool:
            rooms = (await lk.control.state())["rooms"]
            return call.room_name not in [r["name"] for r in rooms]

        assert await _until(room_gone)  # hung up, not left silent
    finally:
        await lkapi.aclose()


async def test_a_job_with_unreadable_metadata_is_refused(stack: WorkerStack) -> None:
    lk = stack.lk
    await lk.control.reset()
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest

        await lkapi.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name="talkifai-agent", room="r_bad", metadata="{}")
        )

        async def ended() -> Any:
            jobs = (await lk.control.state())["jobs"]
            return jobs if jobs and jobs[0]["state"] == "JS_FAILED" else None

        job = (await _until(ended))[0]
        assert job["error"] == "no worker accepted the job"
    finally:
        await lkapi.aclose()

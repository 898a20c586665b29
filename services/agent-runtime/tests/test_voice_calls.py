"""Calls that talk: our worker joins the emulator's room over WebRTC, as it joins LiveKit, and
speaks with an emulated caller.

Nothing is faked between the caller's voice and the agent's: the caller speaks with espeak-ng
through the emulator's SIP participant; the agent hears it with the prewarmed Silero VAD on real
audio, sends the utterance to a scripted OpenAI-compatible server for transcription and a reply,
and answers with espeak-ng, which the caller hears and records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import jwt  # noqa: F401  # the warning filter below names its class
import pytest
from livekit import api
from livekit.protocol import sip

from agent_runtime.directory import KnownAgent, KnownNumber
from livekit_emulator.testing import RunningEmulator, running_emulator
from talkifai_common.events import EventName
from talkifai_common.jobs import InboundJob
from talkifai_common.voice import (
    LLMConfig,
    LLMProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import agent_data, number_data
from tests.support.agent_worker import WorkerStack, registered_worker
from tests.support.openai_server import OpenAICompatibleServer, ToolCall
from tests.support.servers import serve_asgi

pytestmark = [
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
    pytest.mark.slow,
]

T = TypeVar("T")
CALL_TIMEOUT_S = 60.0  # a guard against hanging, never an expectation of speed
GREETING = "Hello, thanks for calling Widgets! How can I help?"
CALLER = "+15550142"
NUMBER = "+12025550123"


def local_agent() -> Any:
    """A pipeline agent that needs no cloud account: OpenAI-protocol STT and LLM on a local
    server, espeak-ng for its voice."""
    return agent_data(
        "agent_1",
        greeting=GREETING,
        stt=STTConfig(provider=STTProvider.OPENAI, model="whisper-small"),
        llm=LLMConfig(provider=LLMProvider.OPENAI, model="llama3.2"),
        tts=TTSConfig(provider=TTSProvider.ESPEAK),
    )


@pytest.fixture
async def model_server() -> AsyncIterator[tuple[OpenAICompatibleServer, str]]:
    scripted = OpenAICompatibleServer()
    async with serve_asgi(scripted.app()) as url:
        yield scripted, f"{url}/v1"


@pytest.fixture
async def stack(model_server: tuple[OpenAICompatibleServer, str]) -> AsyncIterator[WorkerStack]:
    _, base_url = model_server
    async with (
        running_emulator() as lk,
        registered_worker(
            lk,
            agents={"agent_1": KnownAgent("org_a", local_agent())},
            numbers={"pn_1": KnownNumber("org_a", number_data())},
            env={"OPENAI_BASE_URL": base_url},
        ) as running,
    ):
        yield running


async def until(check: Callable[[], Awaitable[T]], within_s: float = CALL_TIMEOUT_S) -> T:
    async with asyncio.timeout(within_s):
        while not (result := await check()):  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.05)
        return result


async def route_number_to_agent(lk: RunningEmulator) -> None:
    """The inbound trunk and dispatch rule trunk-sync writes for pn_1 (created here directly)."""
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        trunk = await lkapi.sip.create_inbound_trunk(
            sip.CreateSIPInboundTrunkRequest(
                trunk=sip.SIPInboundTrunkInfo(name="pn_1", numbers=[NUMBER])
            )
        )
        rule = sip.SIPDispatchRuleInfo(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")
            ),
        )
        metadata = InboundJob(
            agent_id="agent_1", phone_number_id="pn_1", phone_number=NUMBER, org_id="org_a"
        ).model_dump_json()
        rule.room_config.agents.add(agent_name="talkifai-agent", metadata=metadata)
        await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=rule))
    finally:
        await lkapi.aclose()


async def test_an_inbound_caller_is_greeted_heard_answered_and_hung_up_on(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["I would like to book a table for two.", "Thank you, goodbye."]
    scripted.replies += [
        "Of course. For what time?",
        ToolCall("end_call", {}),
        "Goodbye!",
    ]
    await route_number_to_agent(stack.lk)

    call = await stack.lk.control.inbound_call(
        CALLER,
        NUMBER,
        script=[
            {"wait_for_silence_ms": 1000},
            {"say": "I would like to book a table for two."},
            {"wait_for_silence_ms": 1000},
            {"say": "Thank you, goodbye."},
        ],
    )

    async def ended() -> dict[str, Any]:
        view = await stack.lk.control.call(call.sip_call_id)
        return view if view["ended_at_ms"] else {}

    view = await until(ended)
    person = view["person"]
    assert view["status"] == "hangup"
    assert person["said"] == ["I would like to book a table for two.", "Thank you, goodbye."]
    # The greeting and the answer were heard: seconds of speech, the first soon after answering.
    assert person["heard_ms"] >= 2_000
    assert person["first_heard_at_ms"] - view["answered_at_ms"] < 10_000

    chats = [r for r in scripted.requests if r.path == "/v1/chat/completions"]
    assert chats[0].body["messages"][-1] == {
        "role": "user",
        "content": "I would like to book a table for two.",
    }
    assert chats[1].body["messages"][-1]["content"] == "Thank you, goodbye."
    transcriptions = [r for r in scripted.requests if r.path == "/v1/audio/transcriptions"]
    assert len(transcriptions) == 2
    assert all(r.body["file_head"] == "52494646" for r in transcriptions)  # "RIFF": a WAV

    async def usage() -> Any:
        return next((e for e in stack.events.events if e.name is EventName.CALL_USAGE), None)

    event = await until(usage, within_s=15)
    assert event.data.end_reason == "agent_ended"
    # The greeting and the answer, as the TTS was given them (sentence by sentence).
    assert event.data.tts_characters >= len(GREETING) + len("Of course. For what time?") - 3
    assert event.data.stt_seconds > 1.0
    assert event.data.llm_input_tokens > 0 and event.data.llm_output_tokens > 0
    assert event.data.duration_s > 3.0

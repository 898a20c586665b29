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
import numpy as np
import pytest
from livekit import api
from livekit.protocol import sip

from agent_runtime.directory import KnownAgent, KnownNumber
from agent_runtime.local_tts import EspeakTTS
from livekit_emulator.testing import RunningEmulator, running_emulator
from talkifai_common.events import EventName
from talkifai_common.jobs import OutboundJob
from talkifai_common.voice import (
    LLMConfig,
    LLMProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import agent_data, number_data
from tests.support.agent_worker import WorkerStack, registered_worker, route_number
from tests.support.openai_server import OpenAICompatibleServer, ToolCall, serving

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
    async with serving(scripted) as base_url:
        yield scripted, base_url


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


async def voiced_ms(text: str) -> float:
    """How long espeak-ng's rendering of `text` has voice (as the emulated ear counts it)."""
    tts = EspeakTTS(voice="en-us")
    frames = []
    async with tts.synthesize(text) as stream:
        async for chunk in stream:
            frames.append(chunk.frame)
    await tts.aclose()
    samples = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    rate = frames[0].sample_rate
    window = rate // 50
    windows = samples[: len(samples) // window * window].reshape(-1, window).astype(float)
    voiced = np.sqrt((windows**2).mean(axis=1)) > 300
    # From the first voiced window to the last: pauses between words count, as in a turn.
    index = np.flatnonzero(voiced)
    return float((index[-1] - index[0] + 1) * 20) if len(index) else 0.0


async def call_ended(lk: RunningEmulator, sip_call_id: str) -> dict[str, Any]:
    """The emulator's view of the call once it has ended."""

    async def ended() -> dict[str, Any]:
        view = await lk.control.call(sip_call_id)
        return view if view["ended_at_ms"] else {}

    return await until(ended)


async def call_the_agent(stack: WorkerStack, script: list[dict[str, Any]]) -> dict[str, Any]:
    """Route the number to our agent and let a scripted caller call it; the emulator's view of
    the call once it has ended."""
    await route_number(stack.lk, NUMBER, agent_id="agent_1")
    call = await stack.lk.control.inbound_call(CALLER, NUMBER, script=script)
    return await call_ended(stack.lk, call.sip_call_id)


async def published(stack: WorkerStack, name: EventName) -> Any:
    """The first event of that name agent-runtime published."""

    async def found() -> Any:
        return next((e for e in stack.events.events if e.name is name), None)

    return await until(found, within_s=15)


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
    view = await call_the_agent(
        stack,
        [
            {"wait_for_silence_ms": 1000},
            {"say": "I would like to book a table for two."},
            {"wait_for_silence_ms": 1000},
            {"say": "Thank you, goodbye."},
        ],
    )

    person = view["person"]
    assert view["status"] == "hangup"
    assert person["said"] == ["I would like to book a table for two.", "Thank you, goodbye."]
    # The greeting and the answer were heard: seconds of speech, the first soon after answering.
    assert person["heard_ms"] >= 2_000
    assert person["first_heard_at_ms"] - view["answered_at_ms"] < 10_000
    # The greeting the caller heard lasts as long as espeak-ng's rendering of it.
    agent = next(s for k, s in person["speakers"].items() if k.startswith("agent-"))
    caller_spoke = person["spoke"][0][0]
    greeting_heard_ms = sum(
        min(end, caller_spoke) - start for start, end in agent["turns"] if start < caller_spoke
    )
    assert greeting_heard_ms == pytest.approx(await voiced_ms(GREETING), rel=0.3)

    chats = [r for r in scripted.requests if r.path == "/v1/chat/completions"]
    assert chats[0].body["messages"][-1] == {
        "role": "user",
        "content": "I would like to book a table for two.",
    }
    assert chats[1].body["messages"][-1]["content"] == "Thank you, goodbye."
    transcriptions = [r for r in scripted.requests if r.path == "/v1/audio/transcriptions"]
    assert len(transcriptions) == 2
    assert all(r.body["file_head"] == "52494646" for r in transcriptions)  # "RIFF": a WAV

    event = await published(stack, EventName.CALL_USAGE)
    assert event.data.end_reason == "agent_ended"
    # The greeting and the answer, as the TTS was given them (sentence by sentence).
    assert event.data.tts_characters >= len(GREETING) + len("Of course. For what time?") - 3
    assert event.data.stt_seconds > 1.0
    assert event.data.llm_input_tokens > 0 and event.data.llm_output_tokens > 0
    assert event.data.duration_s > 3.0


async def test_the_calls_transcript_is_published_in_order_with_the_card_number_masked(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    # What the caller says, as speech recognition heard it (the card number a caller reads out).
    heard = "My card number is 4242 4242 4242 4242, expiry twelve twenty-seven."
    scripted.transcripts += [heard, "Goodbye."]
    scripted.replies += ["Thank you, your table is booked.", ToolCall("end_call", {}), "Bye!"]
    await call_the_agent(
        stack,
        [
            {"wait_for_silence_ms": 1000},
            {"say": "My card number is four two four two."},
            {"wait_for_silence_ms": 1000},
            {"say": "Goodbye."},
        ],
    )

    event = await published(stack, EventName.CALL_TRANSCRIPT)
    transcript = event.data
    assert (transcript.part, transcript.parts, transcript.truncated) == (1, 1, False)
    assert transcript.agent_id == "agent_1"
    assert transcript.direction == "inbound"
    assert transcript.room_name.startswith("call")
    items = [(i.role.value, i.text) for i in transcript.items]
    assert items[:4] == [
        ("agent", GREETING),
        ("user", "My card number is [redacted card number], expiry twelve twenty-seven."),
        ("agent", "Thank you, your table is booked."),
        ("user", "Goodbye."),
    ]
    tool = transcript.items[4]
    assert (tool.role.value, tool.tool_name, tool.tool_arguments) == ("tool", "end_call", "{}")
    assert [i.at for i in transcript.items] == sorted(i.at for i in transcript.items)
    assert "4242" not in event.model_dump_json()
    # The usage travels with the transcript (for the end-of-call report).
    assert transcript.usage is not None and transcript.usage.end_reason == "agent_ended"


async def test_keys_pressed_reach_the_agent_and_its_keys_reach_the_caller(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["Goodbye."]
    scripted.replies += [
        ToolCall("send_dtmf", {"digits": "5"}),
        "Thanks, your code is twelve.",
        ToolCall("end_call", {}),
        "Goodbye!",
    ]
    view = await call_the_agent(
        stack,
        [
            {"wait_for_silence_ms": 1000},
            {"dtmf": "12#"},
            {"wait_for_silence_ms": 1000},
            {"say": "Goodbye."},
        ],
    )

    assert view["person"]["dtmf_heard"] == "5"
    chats = [r for r in scripted.requests if r.path == "/v1/chat/completions"]
    assert chats[0].body["messages"][-1] == {"role": "user", "content": "[keypad] 12#"}


async def outbound_call(
    stack: WorkerStack, callee: str, *, call_id: str = "call_1", **metadata: Any
) -> str:
    """What call-orchestrator does for an outbound call: a room with our agent's dispatch, then
    the callee dialled into it. Returns the SIP call id."""
    lk = stack.lk
    room = f"outbound-{call_id}"
    job = OutboundJob(
        agent_id="agent_1",
        call_id=call_id,
        phone_number_id="pn_1",
        from_number=NUMBER,
        to_number=callee,
        metadata=metadata,
    )
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name="talkifai-agent", room=room, metadata=job.model_dump_json()
            )
        )
        trunk = await lkapi.sip.create_outbound_trunk(
            sip.CreateSIPOutboundTrunkRequest(
                trunk=sip.SIPOutboundTrunkInfo(
                    name="pn_1", address="sip.example.com", numbers=[NUMBER]
                )
            )
        )
        info = await lkapi.sip.create_sip_participant(
            sip.CreateSIPParticipantRequest(
                sip_trunk_id=trunk.sip_trunk_id,
                sip_call_to=callee,
                room_name=room,
                participant_identity=f"sip_{callee}",
                wait_until_answered=True,
            )
        )
    finally:
        await lkapi.aclose()
    return info.sip_call_id


async def test_an_outbound_callee_speaks_first_and_the_agent_answers(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["Hello, who is this?", "Not interested, goodbye."]
    scripted.replies += [
        "Hi, this is Widgets calling about your order.",
        ToolCall("end_call", {}),
        "Bye.",
    ]
    await stack.lk.control.set_outcome(
        "+15550177",
        ring_ms=300,
        script=[
            {"wait_ms": 500},
            {"say": "Hello, who is this?"},
            {"wait_for_silence_ms": 1000},
            {"say": "Not interested, goodbye."},
        ],
    )

    sip_call_id = await outbound_call(stack, "+15550177")

    view = await call_ended(stack.lk, sip_call_id)
    person = view["person"]
    # The agent waited for the callee: nothing was heard before the callee spoke.
    said_at = person["steps"][1]["started_at_ms"]
    assert person["first_heard_at_ms"] > said_at
    chats = [r for r in scripted.requests if r.path == "/v1/chat/completions"]
    assert chats[0].body["messages"][-1] == {"role": "user", "content": "Hello, who is this?"}


async def test_a_machine_answer_gets_the_voicemail_message_after_the_beep(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["Hi, you have reached the voicemail. Please leave a message."]
    scripted.replies += [ToolCall("answering_machine_detected", {}), "Done."]
    await stack.lk.control.set_outcome("+15550188", answered_by="machine")

    sip_call_id = await outbound_call(
        stack,
        "+15550188",
        voicemail_action="leave_message",
        voicemail_message="This is Widgets. Please call us back.",
    )

    view = await call_ended(stack.lk, sip_call_id)
    person = view["person"]
    beep_done = person["steps"][1]["done_at_ms"]
    assert beep_done is not None
    # The machine recorded the agent's message: speech heard after the beep ended.
    assert person["heard_ms"] >= 1_500
    assert view["ended_at_ms"] > beep_done

    event = await published(stack, EventName.CALL_USAGE)
    assert event.data.end_reason == "voicemail_message_left"


async def test_a_model_server_failing_mid_call_fails_the_call_and_hangs_up(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["I would like to book a table."]
    # No scripted reply: every chat completion is answered 500 from now on.
    view = await call_the_agent(
        stack,
        [{"wait_for_silence_ms": 1000}, {"say": "I would like to book a table."}],
    )

    assert view["status"] == "hangup"  # the caller was hung up on, not left in silence

    failure = await published(stack, EventName.CALL_AGENT_FAILED)
    assert failure.data.reason == "provider_error"
    assert "llm_error" in failure.data.error and "500" in failure.data.error

    assert (await published(stack, EventName.CALL_USAGE)).data.end_reason == "agent_error"


async def test_a_caller_hanging_up_mid_sentence_ends_the_agents_call(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    # The caller hangs up while the greeting is still being said.
    view = await call_the_agent(stack, [{"wait_ms": 1500}, {"hangup": True}])

    event = await published(stack, EventName.CALL_USAGE)
    assert event.data.end_reason == "caller_hangup"
    assert 0 < view["person"]["heard_ms"] < 3_000

    async def room_closed() -> bool:
        rooms = (await stack.lk.control.state())["rooms"]
        return all(r["name"] != view["room_name"] for r in rooms)

    await until(room_closed, within_s=15)


async def test_transfer_call_hands_the_caller_to_the_emulated_target(
    stack: WorkerStack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["I want to talk to a person."]
    scripted.replies += [ToolCall("transfer_call", {"phone_number": "+12025550166"}), "Done."]
    await stack.lk.control.set_outcome("+12025550166", ring_ms=200)
    view = await call_the_agent(
        stack,
        [{"wait_for_silence_ms": 1000}, {"say": "I want to talk to a person."}],
    )
    assert view["transferred_to"] == "tel:+12025550166"

    assert (await published(stack, EventName.CALL_USAGE)).data.end_reason == "transferred"

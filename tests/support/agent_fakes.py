"""Small fakes for agent-runtime's tests: a scripted LLM, a silent TTS, a fixed STT, and ports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Never

from livekit.agents import APIConnectOptions, LanguageCode, llm, stt, tts, utils
from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage, FunctionToolCall
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from agent_runtime.directory import KnownAgent, KnownNumber
from talkifai_common.events import AgentData, CloudEvent, PhoneNumberData
from talkifai_common.voice import LLMConfig, STTConfig, TTSConfig

# One scripted answer: text and tool calls (name, arguments).
Reply = tuple[str, list[tuple[str, dict[str, Any]]]]


class _Stream(llm.LLMStream):
    def __init__(self, owner: FakeLLM, reply: Reply, **kw: Any) -> None:
        super().__init__(owner, **kw)
        self._reply = reply

    async def _run(self) -> None:
        text, calls = self._reply
        tool_calls = [
            FunctionToolCall(name=name, arguments=json.dumps(args), call_id=f"call_{i}")
            for i, (name, args) in enumerate(calls)
        ]
        self._event_ch.send_nowait(
            ChatChunk(
                id="fake", delta=ChoiceDelta(role="assistant", content=text, tool_calls=tool_calls)
            )
        )
        self._event_ch.send_nowait(
            ChatChunk(
                id="fake",
                usage=CompletionUsage(completion_tokens=3, prompt_tokens=11, total_tokens=14),
            )
        )


class FakeLLM(llm.LLM[Never]):
    """Answers each turn with the next scripted reply ("ok" when the script runs out)."""

    def __init__(self, *replies: Reply) -> None:
        super().__init__()
        self.replies = list(replies)
        self.seen: list[llm.ChatContext] = []

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> llm.LLMStream:
        self.seen.append(chat_ctx.copy())
        reply = self.replies.pop(0) if self.replies else ("ok", [])
        return _Stream(self, reply, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class FakeTTS(tts.TTS[Never]):
    """Synthesizes 20 ms of silence per request and counts characters."""

    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=16000, num_channels=1
        )
        self.texts: list[str] = []

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        self.texts.append(text)
        return _Chunked(tts=self, input_text=text, conn_options=conn_options)


class _Chunked(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=16000, num_channels=1, mime_type="audio/pcm"
        )
        output_emitter.push(b"\x00\x00" * 320)
        output_emitter.flush()


class FakeSTT(stt.STT[Never]):
    """Recognizes every buffer as the same text."""

    def __init__(self, text: str = "hello") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.text = text

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=self.text)],
        )


@dataclass
class FakeCallControl:
    """Records what the tools did to the call."""

    hung_up: list[tuple[str, str | None]] = field(default_factory=list)
    transfers: list[tuple[str, str, str]] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)

    async def hang_up(self, room: str, identity: str | None) -> None:
        self.hung_up.append((room, identity))

    async def transfer(self, room: str, identity: str, to: str) -> None:
        self.transfers.append((room, identity, to))

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf.append(digits)


@dataclass
class FakeSource:
    """numbers-api as a dict: AgentSource and NumberSource."""

    agents: dict[str, KnownAgent] = field(default_factory=dict)
    numbers: dict[str, KnownNumber] = field(default_factory=dict)
    agent_fetches: int = 0

    async def fetch_agent(self, agent_id: str) -> KnownAgent | None:
        self.agent_fetches += 1
        return self.agents.get(agent_id)

    async def fetch_number(self, number_id: str) -> KnownNumber | None:
        return self.numbers.get(number_id)

    async def all_numbers(self) -> list[KnownNumber]:
        return list(self.numbers.values())


@dataclass
class RecordingEvents:
    """EventSink that keeps what was published."""

    events: list[CloudEvent[Any]] = field(default_factory=list)

    async def publish(self, event: CloudEvent[Any]) -> None:
        self.events.append(event)


def agent_data(
    agent_id: str = "agent_1", architecture: str = "pipeline", version: int = 1, **kw: Any
) -> AgentData:
    """An agent as numbers-api describes it."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": agent_id,
        "name": "Sales Agent",
        "architecture": architecture,
        "instructions": "You sell widgets.",
        "greeting": "Hello, thanks for calling Widgets!",
        "language": "en-US",
        "stt": STTConfig() if architecture == "pipeline" else None,
        "llm": LLMConfig() if architecture != "realtime" else None,
        "tts": TTSConfig() if architecture == "pipeline" else None,
        "realtime": None,
        "version": version,
        "created_at": now,
        "updated_at": now,
    }
    values.update(kw)
    return AgentData(**values)


def number_data(
    number_id: str = "pn_1",
    e164: str = "+12025550123",
    recording_mode: str = "disabled",
    version: int = 1,
) -> PhoneNumberData:
    """A phone number as numbers-api describes it."""
    now = datetime.now(UTC)
    return PhoneNumberData(
        id=number_id,
        phone_number=e164,
        termination_uri="example.pstn.twilio.com",
        sip_username=None,
        has_sip_password=False,
        inbound_agent=None,
        outbound_agent=None,
        webhook_url=None,
        recording_mode=recording_mode,
        sip_transport="tls",
        media_encryption="allow",
        status="active",
        sync={"state": "synced"},
        version=version,
        created_at=now,
        updated_at=now,
    )

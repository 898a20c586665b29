"""OpenAI providers on a self-hosted OpenAI-compatible server (`OPENAI_BASE_URL`, no key).

The real livekit-agents OpenAI plugins, as agent-runtime builds them, talk to a scripted server on
loopback that speaks the protocol (tests/support/openai_server.py): streamed chat completions with
a tool call, REST transcriptions of a VAD-segmented utterance, and speech.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from livekit import rtc
from livekit.agents import function_tool
from livekit.agents.llm import LLM, ChatContext, FunctionToolCall
from pydantic import ValidationError

from agent_runtime.config import Settings
from agent_runtime.domain import ModelServerRefused, ProviderKeyMissing, UpstreamUnavailable
from agent_runtime.sessions import NO_KEY, Components, build_components, check_model_servers
from talkifai_common.agent_capabilities import (
    RuntimeBoard,
    RuntimeCapabilities,
    present_keys,
    required_keys,
)
from talkifai_common.destinations import Resolver
from talkifai_common.events import AgentData
from talkifai_common.voice import (
    LLMConfig,
    LLMProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import agent_data
from tests.support.openai_server import OpenAICompatibleServer, ToolCall, serving

pytestmark = pytest.mark.unit


def openai_agent(stt: STTProvider = STTProvider.OPENAI) -> AgentData:
    """A pipeline agent whose three providers are OpenAI-protocol ones, with local model names."""
    return agent_data(
        "agent_local",
        stt=STTConfig(provider=stt, model="Systran/faster-whisper-small"),
        llm=LLMConfig(provider=LLMProvider.OPENAI, model="llama3.2"),
        tts=TTSConfig(provider=TTSProvider.OPENAI, model="kokoro", voice="af_sky"),
    )


@pytest.fixture
async def server() -> AsyncIterator[tuple[OpenAICompatibleServer, str]]:
    """The scripted server and its base URL (as OPENAI_BASE_URL is written: with `/v1`)."""
    scripted = OpenAICompatibleServer()
    async with serving(scripted) as base_url:
        yield scripted, base_url


@pytest.fixture
async def components(server: tuple[OpenAICompatibleServer, str]) -> AsyncIterator[Components]:
    """The agent's components as agent-runtime builds them with only OPENAI_BASE_URL set."""
    _, base_url = server
    built = build_components(openai_agent(), {"OPENAI_BASE_URL": base_url})
    yield built
    assert built.stt is not None and built.tts is not None
    await built.stt.aclose()
    await built.tts.aclose()
    await built.llm.aclose()


@function_tool
async def end_call(reason: str) -> None:
    """End the call."""


async def test_the_language_model_streams_its_answer_from_the_server_without_a_key(
    server: tuple[OpenAICompatibleServer, str], components: Components
) -> None:
    scripted, _ = server
    scripted.replies.append("Hello there, how can I help?")
    chat = ChatContext.empty()
    chat.add_message(role="user", content="Hi")

    text = ""
    assert isinstance(components.llm, LLM)
    async with components.llm.chat(chat_ctx=chat) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                text += chunk.delta.content

    assert text == "Hello there, how can I help?"
    [request] = scripted.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {NO_KEY}"
    assert request.body["model"] == "llama3.2"
    assert request.body["messages"][-1] == {"role": "user", "content": "Hi"}


async def test_a_tool_call_streamed_in_pieces_reaches_the_agent_whole(
    server: tuple[OpenAICompatibleServer, str], components: Components
) -> None:
    scripted, _ = server
    scripted.replies.append(ToolCall("end_call", {"reason": "the caller said goodbye"}))
    chat = ChatContext.empty()
    chat.add_message(role="user", content="Bye!")

    calls: list[FunctionToolCall] = []
    assert isinstance(components.llm, LLM)
    async with components.llm.chat(chat_ctx=chat, tools=[end_call]) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.tool_calls:
                calls.extend(chunk.delta.tool_calls)

    assert [(c.name, c.arguments) for c in calls] == [
        ("end_call", '{"reason": "the caller said goodbye"}')
    ]
    [request] = scripted.requests
    assert [t["function"]["name"] for t in request.body["tools"]] == ["end_call"]


async def test_speech_is_transcribed_through_the_rest_endpoint_local_servers_have(
    server: tuple[OpenAICompatibleServer, str], components: Components
) -> None:
    scripted, _ = server
    scripted.transcripts.append("I would like to book a table")
    # Half a second of audio, as the VAD hands an utterance over.
    frame = rtc.AudioFrame.create(sample_rate=16_000, num_channels=1, samples_per_channel=8_000)

    assert components.stt is not None
    event = await components.stt.recognize([frame])

    assert event.alternatives[0].text == "I would like to book a table"
    [request] = scripted.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.authorization == f"Bearer {NO_KEY}"
    assert request.body["model"] == "Systran/faster-whisper-small"
    assert request.body["file_head"] == b"RIFF".hex()  # a WAV file
    assert request.body["file_bytes"] > 16_000


async def test_speech_is_synthesized_from_the_audio_the_server_answers(
    server: tuple[OpenAICompatibleServer, str], components: Components
) -> None:
    scripted, _ = server
    scripted.speech_seconds = 0.5

    assert components.tts is not None
    samples = 0
    sample_rate = 0
    async with components.tts.synthesize("Thanks for calling!") as stream:
        async for audio in stream:
            samples += audio.frame.samples_per_channel
            sample_rate = audio.frame.sample_rate

    assert samples / sample_rate == pytest.approx(0.5, abs=0.05)
    [request] = scripted.requests
    assert request.path == "/v1/audio/speech"
    assert (request.body["input"], request.body["model"], request.body["voice"]) == (
        "Thanks for calling!",
        "kokoro",
        "af_sky",
    )


def test_with_neither_a_key_nor_a_base_url_the_openai_providers_name_the_key() -> None:
    with pytest.raises(ProviderKeyMissing, match="OPENAI_API_KEY"):
        build_components(openai_agent(), {})


def test_a_key_set_beside_the_base_url_is_sent_to_the_server(
    server: tuple[OpenAICompatibleServer, str],
) -> None:
    _, base_url = server
    built = build_components(
        openai_agent(), {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-local-proxy"}
    )
    client = built.llm._client  # type: ignore[union-attr]
    assert client.api_key == "sk-local-proxy"
    assert str(client.base_url).rstrip("/") == base_url


def test_a_runtime_with_a_base_url_is_seen_as_able_to_run_openai_providers() -> None:
    board = RuntimeBoard()
    advertised = present_keys(
        {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, installed=lambda _: None
    )
    capabilities = RuntimeCapabilities(
        instance_id="rt_1",
        agent_name="talkifai-agent",
        key_variables=advertised,
        at=datetime.now(UTC),
    )
    board.apply("rt_1", capabilities.dump(), datetime.now(UTC))

    assert advertised == ("OPENAI_BASE_URL",)
    assert board.missing_keys("talkifai-agent", required_keys(openai_agent())) is None
    # A provider the server does not stand in for still needs its own key.
    deepgram_stt = required_keys(openai_agent(stt=STTProvider.DEEPGRAM))
    assert board.missing_keys("talkifai-agent", deepgram_stt) == frozenset({"DEEPGRAM_API_KEY"})


def test_a_base_url_that_is_not_http_stops_the_start_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="OPENAI_BASE_URL"):
        Settings(dev_mode=True, OPENAI_BASE_URL="ftp://models.internal/v1")
    settings = Settings(dev_mode=True, OPENAI_BASE_URL="http://127.0.0.1:11434/v1")
    assert str(settings.openai_base_url) == "http://127.0.0.1:11434/v1"


def agent_on_its_own_server(base_url: str) -> AgentData:
    """The OpenAI-protocol agent with every component on its own model server."""
    agent = openai_agent()
    assert agent.stt is not None and agent.llm is not None and agent.tts is not None
    return agent.model_copy(
        update={
            "stt": agent.stt.model_copy(update={"base_url": base_url}),
            "llm": agent.llm.model_copy(update={"base_url": base_url}),
            "tts": agent.tts.model_copy(update={"base_url": base_url}),
        }
    )


async def test_an_agents_own_server_is_used_and_never_sent_the_deployments_key(
    server: tuple[OpenAICompatibleServer, str],
) -> None:
    scripted, base_url = server
    scripted.replies.append("Hi from the agent's own server")
    env = {"OPENAI_API_KEY": "sk-deployment-secret", "OPENAI_BASE_URL": "http://elsewhere:1/v1"}
    built = build_components(agent_on_its_own_server(base_url), env)
    chat = ChatContext.empty()
    chat.add_message(role="user", content="Hi")

    assert isinstance(built.llm, LLM)
    async with built.llm.chat(chat_ctx=chat) as stream:
        async for _ in stream:
            pass
    await built.llm.aclose()

    [request] = scripted.requests
    assert request.authorization == f"Bearer {NO_KEY}"
    assert "sk-deployment-secret" not in repr(request)


def test_components_on_the_agents_own_server_need_no_key_of_the_deployment() -> None:
    assert required_keys(agent_on_its_own_server("https://models.example.com/v1")) == frozenset()


def _resolves_to(*addresses: str) -> Resolver:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "100.100.100.200"])
async def test_a_model_server_resolving_inside_the_network_is_refused_unless_allowed(
    address: str,
) -> None:
    agent = agent_on_its_own_server("https://models.example.com/v1")
    resolver = _resolves_to(address)
    with pytest.raises(ModelServerRefused, match=r"stt\.base_url: .*not globally routable"):
        await check_model_servers(agent, allow_private=False, resolver=resolver)
    await check_model_servers(agent, allow_private=True, resolver=resolver)


async def test_a_model_server_whose_name_cannot_be_resolved_now_is_retryable() -> None:
    async def flaky(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    agent = agent_on_its_own_server("https://models.example.com/v1")
    with pytest.raises(UpstreamUnavailable, match="could not be resolved now"):
        await check_model_servers(agent, allow_private=False, resolver=flaky)

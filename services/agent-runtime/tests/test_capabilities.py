"""What agent-runtime advertises it can run agrees with what it actually runs, and the board
call-orchestrator reads picks a process that has every key an agent needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_runtime.capabilities import capabilities_of
from agent_runtime.domain import ProviderKeyMissing
from agent_runtime.sessions import build_components
from talkifai_common.agent_capabilities import (
    ENGINES,
    RuntimeBoard,
    RuntimeCapabilities,
    required_keys,
)
from talkifai_common.events import AgentData
from talkifai_common.voice import (
    LLMConfig,
    LLMProvider,
    RealtimeConfig,
    RealtimeProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import agent_data

pytestmark = pytest.mark.unit

AGENTS = [
    agent_data(),
    agent_data(
        stt=STTConfig(provider=STTProvider.OPENAI),
        llm=LLMConfig(provider=LLMProvider.GOOGLE),
        tts=TTSConfig(provider=TTSProvider.ELEVENLABS),
    ),
    agent_data(tts=TTSConfig(provider=TTSProvider.DEEPGRAM)),
    agent_data(architecture="realtime", realtime=RealtimeConfig(provider=RealtimeProvider.GOOGLE)),
    agent_data(architecture="realtime", realtime=None),
]


@pytest.mark.parametrize("agent", AGENTS, ids=lambda a: str(sorted(required_keys(a))))
def test_the_advertised_keys_an_agent_needs_are_exactly_the_ones_its_session_reads(
    agent: AgentData,
) -> None:
    needed = required_keys(agent)
    env = dict.fromkeys(needed, "set")
    build_components(agent, env)
    for name in needed:
        with pytest.raises(ProviderKeyMissing) as caught:
            build_components(agent, {k: v for k, v in env.items() if k != name})
        assert caught.value.variable == name


def test_a_process_advertises_the_names_of_its_keys_never_their_values() -> None:
    env = {"OPENAI_API_KEY": "sk-secret-value", "DEEPGRAM_API_KEY": " ", "PATH": "/usr/bin"}

    caps = capabilities_of("art_1", "talkifai-agent", env)

    # The one key set (a blank one is not set), beside the engines installed here (espeak-ng).
    assert [n for n in caps.key_variables if n not in ENGINES] == ["OPENAI_API_KEY"]
    assert b"sk-secret-value" not in caps.dump()
    assert RuntimeCapabilities.parse(caps.dump()) == caps


def _caps(instance_id: str, *keys: str) -> bytes:
    return RuntimeCapabilities(
        instance_id=instance_id,
        agent_name="talkifai-agent",
        key_variables=keys,
        at=datetime.now(UTC),
    ).dump()


def test_the_board_wants_one_live_process_with_every_key_and_names_the_fewest_missing() -> None:
    board = RuntimeBoard(ttl_s=15)
    now = datetime.now(UTC)
    needed = frozenset({"DEEPGRAM_API_KEY", "OPENAI_API_KEY", "CARTESIA_API_KEY"})

    assert board.missing_keys("talkifai-agent", needed) == needed
    board.apply("art_a", _caps("art_a", "OPENAI_API_KEY"), now)
    board.apply("art_b", _caps("art_b", "OPENAI_API_KEY", "DEEPGRAM_API_KEY"), now)
    assert board.missing_keys("talkifai-agent", needed) == frozenset({"CARTESIA_API_KEY"})
    board.apply("art_c", _caps("art_c", *needed), now - timedelta(seconds=20))
    assert board.missing_keys("talkifai-agent", needed) == frozenset(
        {"CARTESIA_API_KEY"}
    )  # expired
    board.apply("art_c", _caps("art_c", *needed), now)
    assert board.missing_keys("talkifai-agent", needed) is None
    board.apply("art_c", None, None)
    assert board.missing_keys("talkifai-agent", needed) == frozenset({"CARTESIA_API_KEY"})
    assert board.missing_keys("another-agent", needed) == needed

"""The usage report names the provider and model behind each kind of usage, for pricing."""

from __future__ import annotations

import pytest

from agent_runtime.handlers import usage_models
from talkifai_common.events import UsageModel
from talkifai_common.voice import LLMConfig, RealtimeConfig, STTConfig, TTSConfig
from tests.support.call_orchestrator import agent_data

pytestmark = pytest.mark.unit


def test_a_pipeline_agent_reports_its_three_models_with_their_defaults_resolved() -> None:
    agent = agent_data("agent_1").model_copy(
        update={
            "stt": STTConfig(provider="deepgram"),
            "llm": LLMConfig(provider="openai", model="gpt-4o-mini"),
            "tts": TTSConfig(provider="espeak"),
        }
    )

    assert usage_models(agent) == {
        "llm": UsageModel(provider="openai", model="gpt-4o-mini"),
        "stt": UsageModel(provider="deepgram", model="nova-3"),
        "tts": UsageModel(provider="espeak", model="espeak-ng"),
    }


def test_a_realtime_agent_reports_its_realtime_model_as_the_llm() -> None:
    agent = agent_data("agent_1", architecture="realtime").model_copy(
        update={"realtime": RealtimeConfig(provider="openai")}
    )

    assert usage_models(agent) == {
        "llm": UsageModel(provider="openai", model="gpt-realtime"),
        "stt": None,
        "tts": None,
    }

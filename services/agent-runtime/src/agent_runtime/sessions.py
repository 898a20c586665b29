"""Speech components built from an agent's configured providers, keys from the environment.

Pipeline agents get STT + LLM + TTS (with the prewarmed VAD; turns end on VAD silence, since the
turn-detector plugin's model is not shipped in its wheel and nothing may be downloaded at run
time). Realtime agents get a speech-to-speech model. Text agents are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from livekit.agents import llm, stt, tts
from livekit.plugins import cartesia, deepgram, elevenlabs, google, openai

from agent_runtime.domain import AgentRuntimeError, ProviderKeyMissing, TextAgentRefused
from talkifai_common.agent_capabilities import (
    GOOGLE_CLOUD,
    LLM_KEYS,
    REALTIME_KEYS,
    STT_KEYS,
    TTS_KEYS,
)
from talkifai_common.events import AgentData
from talkifai_common.voice import (
    Architecture,
    LLMConfig,
    LLMProvider,
    RealtimeConfig,
    RealtimeProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)

ProviderT = TypeVar("ProviderT", bound=StrEnum)


@dataclass(frozen=True)
class Components:
    """What an AgentSession is built from: a pipeline (stt, llm, tts) or a realtime model."""

    architecture: Architecture
    llm: llm.LLM[Any] | llm.RealtimeModel
    stt: stt.STT[Any] | None = None
    tts: tts.TTS[Any] | None = None


def _key(env: Mapping[str, str], provider: ProviderT, keys: Mapping[ProviderT, str]) -> str:
    """The provider's key from `env`, by the one provider-to-variable table agent-runtime
    advertises (talkifai_common.agent_capabilities); ProviderKeyMissing when it is not set."""
    variable = keys[provider]
    value = env.get(variable, "").strip()
    if not value:
        raise ProviderKeyMissing(provider.value, variable)
    return value


def _lang(language: str) -> str:
    """`en-US` -> `en` for providers that take the bare language."""
    return language.split("-")[0]


def make_stt(cfg: STTConfig, language: str, env: Mapping[str, str]) -> stt.STT[Any]:
    """Speech recognition for the configured provider."""
    model = cfg.resolved_model()
    if cfg.provider is STTProvider.DEEPGRAM:
        key = _key(env, cfg.provider, STT_KEYS)
        return deepgram.STT(model=model, language=language, api_key=key)
    if cfg.provider is STTProvider.OPENAI:
        key = _key(env, cfg.provider, STT_KEYS)
        return openai.STT(model=model, language=_lang(language), api_key=key)
    _key(env, cfg.provider, STT_KEYS)
    return google.STT(model=model, languages=[language], credentials_file=env[GOOGLE_CLOUD])


def make_llm(cfg: LLMConfig, env: Mapping[str, str]) -> llm.LLM[Any]:
    """The language model of a pipeline agent."""
    model = cfg.resolved_model()
    if cfg.provider is LLMProvider.OPENAI:
        key = _key(env, cfg.provider, LLM_KEYS)
        return openai.LLM(model=model, temperature=cfg.temperature, api_key=key)
    key = _key(env, cfg.provider, LLM_KEYS)
    return google.LLM(model=model, temperature=cfg.temperature, api_key=key)


def make_tts(cfg: TTSConfig, language: str, env: Mapping[str, str]) -> tts.TTS[Any]:
    """Speech synthesis for the configured provider (its default voice when none is set)."""
    model = cfg.resolved_model()
    if cfg.provider is TTSProvider.CARTESIA:
        key = _key(env, cfg.provider, TTS_KEYS)
        if cfg.voice:
            return cartesia.TTS(model=model, voice=cfg.voice, language=_lang(language), api_key=key)
        return cartesia.TTS(model=model, language=_lang(language), api_key=key)
    if cfg.provider is TTSProvider.ELEVENLABS:
        key = _key(env, cfg.provider, TTS_KEYS)
        if cfg.voice:
            return elevenlabs.TTS(model=model, voice_id=cfg.voice, api_key=key)
        return elevenlabs.TTS(model=model, api_key=key)
    if cfg.provider is TTSProvider.OPENAI:
        key = _key(env, cfg.provider, TTS_KEYS)
        if cfg.voice:
            return openai.TTS(model=model, voice=cfg.voice, api_key=key)
        return openai.TTS(model=model, api_key=key)
    if cfg.provider is TTSProvider.DEEPGRAM:
        key = _key(env, cfg.provider, TTS_KEYS)
        return deepgram.TTS(model=model, api_key=key)
    _key(env, cfg.provider, TTS_KEYS)
    return google.TTS(
        language=language, voice_name=cfg.voice or model, credentials_file=env[GOOGLE_CLOUD]
    )


def make_realtime(cfg: RealtimeConfig, env: Mapping[str, str]) -> llm.RealtimeModel:
    """A speech-to-speech model: OpenAI Realtime or Gemini Live."""
    if cfg.provider is RealtimeProvider.OPENAI:
        key = _key(env, cfg.provider, REALTIME_KEYS)
        return openai.realtime.RealtimeModel(
            model=cfg.resolved_model(), voice=cfg.resolved_voice(), api_key=key
        )
    key = _key(env, cfg.provider, REALTIME_KEYS)
    return google.realtime.RealtimeModel(
        model=cfg.resolved_model(), voice=cfg.resolved_voice(), api_key=key
    )


def build_components(agent: AgentData, env: Mapping[str, str]) -> Components:
    """The agent's components; TextAgentRefused or ProviderKeyMissing say why there are none."""
    if agent.architecture is Architecture.TEXT:
        raise TextAgentRefused(agent.id)
    if agent.architecture is Architecture.REALTIME:
        realtime = agent.realtime or RealtimeConfig()
        return Components(Architecture.REALTIME, llm=make_realtime(realtime, env))
    if agent.llm is None:
        raise AgentRuntimeError(f"Pipeline agent {agent.id} has no language model configured")
    return Components(
        Architecture.PIPELINE,
        stt=make_stt(agent.stt or STTConfig(), agent.language, env),
        llm=make_llm(agent.llm, env),
        tts=make_tts(agent.tts or TTSConfig(), agent.language, env),
    )

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

from livekit.agents import NOT_GIVEN, NotGivenOr, llm, stt, tts
from livekit.plugins import cartesia, deepgram, elevenlabs, google, openai

from agent_runtime.domain import (
    AgentRuntimeError,
    ModelServerRefused,
    ProviderKeyMissing,
    TextAgentRefused,
    UpstreamUnavailable,
)
from agent_runtime.local_tts import EspeakTTS, espeak_voice
from talkifai_common.agent_capabilities import (
    GOOGLE_CLOUD,
    LLM_KEYS,
    OPENAI_BASE_URL,
    REALTIME_KEYS,
    STT_KEYS,
    TTS_KEYS,
    model_servers,
)
from talkifai_common.destinations import (
    DestinationRefused,
    ResolutionFailed,
    Resolver,
    parse_destination_url,
    resolve_public,
    system_resolver,
)
from talkifai_common.events import AgentData
from talkifai_common.voice import (
    MODEL_SERVER,
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


# What a self-hosted OpenAI-compatible server is sent as its key: it asks for none, the SDK wants one.
NO_KEY = "not-needed"


@dataclass(frozen=True)
class OpenAIEndpoint:
    """Where the OpenAI providers send requests: OpenAI itself, or the server at `OPENAI_BASE_URL`
    (a self-hosted OpenAI-compatible one, which needs no key)."""

    api_key: str
    base_url: str | None = None

    @property
    def base_url_arg(self) -> NotGivenOr[str]:
        """The plugins' `base_url` argument (not given: the SDK's default, OpenAI)."""
        return self.base_url if self.base_url else NOT_GIVEN


def openai_endpoint(
    env: Mapping[str, str], provider: ProviderT, agent_base_url: str | None = None
) -> OpenAIEndpoint:
    """The endpoint for an OpenAI provider: the agent's own server (sent no key: the
    deployment's key never goes to a server an agent names), else `OPENAI_BASE_URL` or OpenAI;
    ProviderKeyMissing when neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL` is set."""
    if agent_base_url:
        return OpenAIEndpoint(api_key=NO_KEY, base_url=agent_base_url)
    base_url = env.get(OPENAI_BASE_URL, "").strip() or None
    key = env.get("OPENAI_API_KEY", "").strip()
    if not key and base_url is None:
        raise ProviderKeyMissing(provider.value, "OPENAI_API_KEY")
    return OpenAIEndpoint(api_key=key or NO_KEY, base_url=base_url)


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
        # Not the realtime API: self-hosted servers have only `/v1/audio/transcriptions`, which
        # the session feeds with speech the VAD segmented.
        endpoint = openai_endpoint(env, cfg.provider, cfg.base_url)
        return openai.STT(
            model=model,
            language=_lang(language),
            use_realtime=False,
            api_key=endpoint.api_key,
            base_url=endpoint.base_url_arg,
        )
    _key(env, cfg.provider, STT_KEYS)
    return google.STT(model=model, languages=[language], credentials_file=env[GOOGLE_CLOUD])


def make_llm(cfg: LLMConfig, env: Mapping[str, str]) -> llm.LLM[Any]:
    """The language model of a pipeline agent."""
    model = cfg.resolved_model()
    if cfg.provider is LLMProvider.OPENAI:
        endpoint = openai_endpoint(env, cfg.provider, cfg.base_url)
        return openai.LLM(
            model=model,
            temperature=cfg.temperature,
            api_key=endpoint.api_key,
            base_url=endpoint.base_url_arg,
        )
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
        endpoint = openai_endpoint(env, cfg.provider, cfg.base_url)
        key, base_url = endpoint.api_key, endpoint.base_url_arg
        if cfg.voice:
            return openai.TTS(model=model, voice=cfg.voice, api_key=key, base_url=base_url)
        return openai.TTS(model=model, api_key=key, base_url=base_url)
    if cfg.provider is TTSProvider.ESPEAK:
        return EspeakTTS(voice=cfg.voice or espeak_voice(language))
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
        endpoint = openai_endpoint(env, cfg.provider)
        return openai.realtime.RealtimeModel(
            model=cfg.resolved_model(),
            voice=cfg.resolved_voice(),
            api_key=endpoint.api_key,
            base_url=endpoint.base_url_arg,
        )
    key = _key(env, cfg.provider, REALTIME_KEYS)
    return google.realtime.RealtimeModel(
        model=cfg.resolved_model(), voice=cfg.resolved_voice(), api_key=key
    )


async def check_model_servers(
    agent: AgentData, *, allow_private: bool, resolver: Resolver = system_resolver
) -> None:
    """Before anything connects: each of the agent's model servers (`base_url`) resolves to
    addresses the destination policy allows (ModelServerRefused naming the section otherwise;
    UpstreamUnavailable when the name cannot be resolved now)."""
    for section, base_url in model_servers(agent):
        try:
            url = parse_destination_url(base_url, what=MODEL_SERVER)
            await resolve_public(
                url.host,
                url.port,
                what=MODEL_SERVER,
                allow_private=allow_private,
                resolver=resolver,
            )
        except ResolutionFailed as exc:
            raise UpstreamUnavailable(f"{section}.base_url: {exc}") from exc
        except DestinationRefused as exc:
            raise ModelServerRefused(f"{section}.base_url: {exc}") from exc


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

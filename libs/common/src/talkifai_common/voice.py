"""Voice agent configuration: the providers agent-runtime can run, and sensible defaults.

numbers-api validates agents against this catalogue and agent-runtime builds sessions from it, so the
two can never disagree about what a provider name means.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from talkifai_common.destinations import DestinationError, parse_destination_url


class Architecture(StrEnum):
    """How an agent talks: a speech pipeline, a speech-to-speech model, or text only."""

    PIPELINE = "pipeline"
    REALTIME = "realtime"
    TEXT = "text"

    @property
    def is_voice(self) -> bool:
        """Whether the agent can make or take phone calls."""
        return self is not Architecture.TEXT


class STTProvider(StrEnum):
    """Speech-to-text providers agent-runtime has plugins for."""

    DEEPGRAM = "deepgram"
    OPENAI = "openai"
    GOOGLE = "google"


class LLMProvider(StrEnum):
    """Language model providers agent-runtime has plugins for."""

    OPENAI = "openai"
    GOOGLE = "google"


class TTSProvider(StrEnum):
    """Text-to-speech providers agent-runtime has plugins for."""

    CARTESIA = "cartesia"
    ELEVENLABS = "elevenlabs"
    OPENAI = "openai"
    DEEPGRAM = "deepgram"
    GOOGLE = "google"
    # espeak-ng, installed where agent-runtime runs: no account, no key, robotic but instant.
    ESPEAK = "espeak"


class RealtimeProvider(StrEnum):
    """Speech-to-speech providers agent-runtime has plugins for."""

    OPENAI = "openai"
    GOOGLE = "google"


_STT_MODELS = {
    STTProvider.DEEPGRAM: "nova-3",
    STTProvider.OPENAI: "gpt-4o-transcribe",
    STTProvider.GOOGLE: "latest_long",
}
_LLM_MODELS = {LLMProvider.OPENAI: "gpt-4.1-mini", LLMProvider.GOOGLE: "gemini-2.0-flash"}
_TTS_MODELS = {
    TTSProvider.CARTESIA: "sonic-2",
    TTSProvider.ELEVENLABS: "eleven_flash_v2_5",
    TTSProvider.OPENAI: "gpt-4o-mini-tts",
    TTSProvider.DEEPGRAM: "aura-2-andromeda-en",
    TTSProvider.GOOGLE: "en-US-Chirp3-HD-Charon",
    TTSProvider.ESPEAK: "espeak-ng",
}
_REALTIME_MODELS = {
    RealtimeProvider.OPENAI: "gpt-realtime",
    RealtimeProvider.GOOGLE: "gemini-2.0-flash-live-001",
}
_REALTIME_VOICES = {RealtimeProvider.OPENAI: "alloy", RealtimeProvider.GOOGLE: "Puck"}

# Provider-specific names are free text but bounded, so a typo is caught by the provider, not by us.
_Name = Field(min_length=1, max_length=200)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MODEL_SERVER = "Model server URL"


class _ModelServer(_Strict):
    """A component that may run on an OpenAI-compatible server of the agent's own (`base_url`).

    Requests to it carry no key: the deployment's `OPENAI_API_KEY` is never sent to a server an
    agent names. Whether the host may be private is the deployment's policy, checked by
    numbers-api when the agent is saved and by agent-runtime before it connects.
    """

    # Left out of the JSON when unset, so an agent without one reads as before to consumers that
    # do not know the field yet (their configs forbid unknown fields).
    base_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        exclude_if=lambda value: value is None,
        description="An OpenAI-compatible server for this component (provider `openai` only), "
        "e.g. https://models.example.com/v1; requests carry no key.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_destination_url(
                    value, what=MODEL_SERVER, example="https://models.example.com/v1"
                )
            except DestinationError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _openai_protocol(self) -> _ModelServer:
        provider = getattr(self, "provider", None)
        if self.base_url is not None and provider != "openai":
            raise ValueError(
                "base_url is for OpenAI-compatible servers: set provider to openai with it"
            )
        return self


class STTConfig(_ModelServer):
    """Speech recognition: provider and model (model defaults per provider)."""

    provider: STTProvider = STTProvider.DEEPGRAM
    model: str | None = Field(default=None, min_length=1, max_length=200)

    def resolved_model(self) -> str:
        """The model to run: the configured one or the provider's default."""
        return self.model or _STT_MODELS[self.provider]


class LLMConfig(_ModelServer):
    """The language model and its sampling temperature."""

    provider: LLMProvider = LLMProvider.OPENAI
    model: str | None = Field(default=None, min_length=1, max_length=200)
    # Strict: `false` or `"0.5"` is a client's mistake, not a temperature (ints are still floats).
    temperature: float = Field(default=0.7, ge=0.0, le=2.0, strict=True)

    def resolved_model(self) -> str:
        """The model to run: the configured one or the provider's default."""
        return self.model or _LLM_MODELS[self.provider]


class TTSConfig(_ModelServer):
    """Speech synthesis: provider, model and voice (the provider's default voice when unset)."""

    provider: TTSProvider = TTSProvider.CARTESIA
    model: str | None = Field(default=None, min_length=1, max_length=200)
    voice: str | None = Field(default=None, min_length=1, max_length=200)

    def resolved_model(self) -> str:
        """The model to run: the configured one or the provider's default."""
        return self.model or _TTS_MODELS[self.provider]


class RealtimeConfig(_Strict):
    """A speech-to-speech model and its voice."""

    provider: RealtimeProvider = RealtimeProvider.OPENAI
    model: str | None = Field(default=None, min_length=1, max_length=200)
    voice: str | None = Field(default=None, min_length=1, max_length=200)

    def resolved_model(self) -> str:
        """The model to run: the configured one or the provider's default."""
        return self.model or _REALTIME_MODELS[self.provider]

    def resolved_voice(self) -> str:
        """The voice to use: the configured one or the provider's default."""
        return self.voice or _REALTIME_VOICES[self.provider]


DEFAULT_INSTRUCTIONS = (
    "You are a friendly, concise voice assistant on a phone call. Speak naturally, keep answers "
    "short, and ask one question at a time."
)
DEFAULT_GREETING = "Hello! How can I help you today?"
DEFAULT_LANGUAGE = "en-US"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"

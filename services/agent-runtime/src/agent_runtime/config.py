"""agent-runtime settings, read from the environment once by `main()`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from talkifai_common.settings import (
    DEV_LIVEKIT_API_KEY,
    DEV_LIVEKIT_API_SECRET,
    InternalTokenSettings,
    LiveKitSettings,
    ServiceSettings,
)

AGENT_NAME = "talkifai-agent"


class Settings(ServiceSettings, InternalTokenSettings, LiveKitSettings):
    """Everything agent-runtime reads from the environment (provider keys are read by the plugins)."""

    port: int = Field(default=8040, ge=0, le=65535, validation_alias="AGENT_RUNTIME_PORT")
    # livekit-agents' worker needs a key and secret even in dev mode, so the defaults are set here.
    livekit_api_key: str | None = DEV_LIVEKIT_API_KEY
    livekit_api_secret: SecretStr | None = SecretStr(DEV_LIVEKIT_API_SECRET)
    agent_name: str = Field(default=AGENT_NAME, description="The explicit-dispatch agent name.")
    # Read by the session builder from the environment; checked here so a typo stops the start.
    openai_base_url: AnyHttpUrl | None = Field(
        default=None,
        validation_alias="OPENAI_BASE_URL",
        description="A self-hosted OpenAI-compatible server for the OpenAI providers (Ollama: "
        "http://127.0.0.1:11434/v1); it stands in for OPENAI_API_KEY.",
    )
    allow_private_model_servers: bool | None = Field(
        default=None,
        description="Connect to agents' model servers (`base_url`) on hosts that are not "
        "globally routable (unset: only in dev mode).",
    )
    numbers_api_url: str = "http://127.0.0.1:8010"
    call_orchestrator_url: str = "http://127.0.0.1:8020"
    worker_http_port: int = Field(
        default=0, ge=0, le=65535, description="livekit-agents' own HTTP server (0: any free port)."
    )
    max_call_duration_s: float = Field(default=1800.0, gt=0)
    shutdown_step_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest one shutdown step (the LiveKit worker, the bus, a client) may take "
        "before it is abandoned.",
    )
    outbound_wait_for_callee: bool = Field(
        default=True, description="Outbound calls: let the callee speak first."
    )
    voicemail_action: Literal["hangup", "leave_message"] = "hangup"
    voicemail_message: str = Field(
        default="Sorry we missed you. We will try again later. Goodbye.", max_length=1000
    )
    load_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Refuse jobs above this CPU load (livekit-agents' default when unset: 0.7, "
        "none in dev mode).",
    )

    transcript_redact_patterns: list[str] = Field(
        default_factory=list,
        description="Regular expressions (a JSON list) whose matches are masked in call "
        "transcripts before they are published, besides card numbers, which always are.",
    )

    @field_validator("transcript_redact_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
        return patterns

    @property
    def allows_private_model_servers(self) -> bool:
        """Private model servers: as ALLOW_PRIVATE_MODEL_SERVERS says, else only in dev mode."""
        return self.allows_private(self.allow_private_model_servers)

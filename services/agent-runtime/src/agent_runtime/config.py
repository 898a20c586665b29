"""agent-runtime settings, read from the environment once by `main()`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from talkifai_common.settings import PLACEHOLDER_SECRETS, ServiceSettings

# Dev-mode defaults only; refused outside dev mode.
DEV_INTERNAL_API_TOKEN = "dev-internal-token"
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "secret"
AGENT_NAME = "talkifai-agent"


class Settings(ServiceSettings):
    """Everything agent-runtime reads from the environment (provider keys are read by the plugins)."""

    port: int = Field(default=8040, ge=0, le=65535, validation_alias="AGENT_RUNTIME_PORT")
    livekit_url: str = "http://127.0.0.1:7880"
    livekit_api_key: str = DEV_LIVEKIT_API_KEY
    livekit_api_secret: SecretStr = SecretStr(DEV_LIVEKIT_API_SECRET)
    agent_name: str = Field(default=AGENT_NAME, description="The explicit-dispatch agent name.")
    numbers_api_url: str = "http://127.0.0.1:8010"
    call_orchestrator_url: str = "http://127.0.0.1:8020"
    internal_api_token: SecretStr | None = Field(
        default=None, description="Bearer token for numbers-api and call-orchestrator internals."
    )
    worker_http_port: int = Field(
        default=0, ge=0, le=65535, description="livekit-agents' own HTTP server (0: any free port)."
    )
    max_call_duration_s: float = Field(default=1800.0, gt=0)
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

    # agent-runtime verifies no user JWT, so the shared AUTH_JWT_SECRET check does not apply.
    @model_validator(mode="after")
    def _auth_is_configured(self) -> Settings:
        return self

    @model_validator(mode="after")
    def _secrets_are_real(self) -> Settings:
        if self.dev_mode:
            return self
        token = self.internal_api_token.get_secret_value() if self.internal_api_token else ""
        if token in PLACEHOLDER_SECRETS or token == DEV_INTERNAL_API_TOKEN or len(token) < 24:
            raise ValueError(
                "INTERNAL_API_TOKEN must be set to a random value of at least 24 characters "
                "outside dev mode"
            )
        if self.livekit_api_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("LIVEKIT_API_SECRET must be set to a real secret outside dev mode")
        return self

    def internal_token(self) -> str:
        """The internal bearer token (the dev token in dev mode when none is set)."""
        if self.internal_api_token and self.internal_api_token.get_secret_value():
            return self.internal_api_token.get_secret_value()
        return DEV_INTERNAL_API_TOKEN

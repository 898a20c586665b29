"""call-orchestrator settings, read from the environment once by `main()`."""

from __future__ import annotations

from pydantic import Field, SecretStr

from talkifai_common.settings import (
    DatabaseSettings,
    InternalTokenSettings,
    JwtAuthSettings,
    LiveKitSettings,
    ServiceSettings,
    require_random_secret,
    secret_value,
)

# Dev-mode default only; refused outside dev mode.
DEV_WEBHOOK_SIGNING_SECRET = "dev-webhook-signing-secret-change-me"


class Settings(
    ServiceSettings, DatabaseSettings, JwtAuthSettings, InternalTokenSettings, LiveKitSettings
):
    """Everything call-orchestrator reads from the environment."""

    port: int = Field(default=8020, ge=1, le=65535, validation_alias="CALL_ORCHESTRATOR_PORT")
    livekit_timeout_s: float = Field(
        default=1.5, gt=0, description="Timeout of LiveKit calls other than dialing."
    )
    agent_name: str = Field(default="talkifai-agent", description="The agent dispatched to calls.")
    max_concurrent_calls_per_org: int = Field(default=50, ge=1)
    default_ringing_timeout_s: int = Field(default=30, ge=1, le=120)
    answer_poll_interval_s: float = Field(
        default=0.25, gt=0, description="How often a dialing call is checked for `ringing`."
    )
    live_call_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often calls still live in history are checked against LiveKit's rooms.",
    )
    live_call_check_after_s: float = Field(
        default=130.0,
        ge=0,
        description="Past the longest ringing window (120 s): a call this old has no dialer "
        "waiting on it, so the live-call check may end it, and a room finishing under it before "
        "the answer fails it as abandoned.",
    )
    numbers_api_url: str | None = Field(
        default=None,
        description="numbers-api, whose internal list of numbers fills the read model at start "
        "and every READ_MODEL_REFRESH_INTERVAL_S (what the event stream no longer holds); unset: "
        "events only.",
    )
    read_model_refresh_interval_s: float = Field(default=900.0, gt=0)
    costing_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often calls whose usage arrived before their end are priced.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    webhook_signing_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of customer webhook signatures."
    )
    allow_private_webhooks: bool | None = Field(
        default=None,
        description="Deliver to hosts that are not globally routable (unset: only in dev mode).",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_retry_base_s: float = Field(default=1.0, gt=0)
    webhook_retry_max_s: float = Field(default=300.0, gt=0)
    webhook_retry_window_s: float = Field(
        default=3600.0, gt=0, description="How long a delivery is retried before it is dropped."
    )
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    recording_filepath: str = Field(
        default="recordings/{room_name}-{time}.ogg",
        description="Egress file path template (LiveKit's {room_name}, {time} placeholders).",
    )

    def refuse_placeholder_secrets(self) -> None:
        """The mixins' secrets, then a random webhook signing secret."""
        super().refuse_placeholder_secrets()
        require_random_secret(
            "WEBHOOK_SIGNING_SECRET", self.webhook_signing_secret, DEV_WEBHOOK_SIGNING_SECRET
        )

    def signing_secret(self) -> str:
        """The customer webhook signing key (the dev key in dev mode when none is set)."""
        return secret_value(self.webhook_signing_secret) or DEV_WEBHOOK_SIGNING_SECRET

    @property
    def allows_private_webhooks(self) -> bool:
        """Webhooks to private hosts: as ALLOW_PRIVATE_WEBHOOKS says, else only in dev mode."""
        return self.allows_private(self.allow_private_webhooks)

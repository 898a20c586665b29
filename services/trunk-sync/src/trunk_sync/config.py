"""trunk-sync settings, read from the environment once by `main()`."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from talkifai_common.settings import PLACEHOLDER_SECRETS, ServiceSettings

# Dev-mode defaults only; refused outside dev mode.
DEV_INTERNAL_API_TOKEN = "dev-internal-token"
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "secret"


class Settings(ServiceSettings):
    """Everything trunk-sync reads from the environment."""

    port: int = Field(default=8030, ge=0, le=65535, validation_alias="TRUNK_SYNC_PORT")
    numbers_api_url: str = "http://127.0.0.1:8010"
    numbers_api_timeout_s: float = Field(default=5.0, gt=0)
    internal_api_token: SecretStr | None = Field(
        default=None, description="Bearer token for numbers-api's internal endpoints."
    )
    livekit_url: str = "http://127.0.0.1:7880"
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None
    livekit_timeout_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(
        default=30.0, gt=0, le=60, description="Seconds between full reconciles (and at start)."
    )
    reconcile_concurrency: int = Field(default=16, ge=1, description="Repairs run at once.")
    consumer_durable: str = Field(
        default="trunk-sync", description="The JetStream durable shared by every replica."
    )
    consumer_batch: int = Field(
        default=64, ge=1, le=1000, description="Messages fetched and handled concurrently."
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="Unacknowledged messages (a replica died) are redelivered after this long.",
    )
    # MAX_DELIVERIES, RETRY_BASE_S and RETRY_MAX_S: every service's (talkifai_common.settings).
    number_lock_ttl_s: float = Field(
        default=5.0,
        gt=0,
        description="A replica that dies while syncing a number holds its lease this long.",
    )
    number_lock_wait_s: float = Field(
        default=2.0,
        ge=0,
        description="How long a sync waits for another replica's lease on its number before the "
        "message is retried later (at most half of ACK_WAIT_S).",
    )
    allow_private_sip_destinations: bool | None = Field(
        default=None,
        description="Write outbound trunks to hosts that are not globally routable (unset: only "
        "in dev mode).",
    )

    # trunk-sync verifies no user JWT, so the shared AUTH_JWT_SECRET check does not apply.
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
        lk_secret = self.livekit_api_secret.get_secret_value() if self.livekit_api_secret else ""
        if not self.livekit_api_key or lk_secret in PLACEHOLDER_SECRETS:
            raise ValueError("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set outside dev mode")
        return self

    def internal_token(self) -> str:
        """numbers-api's internal bearer token (the dev token in dev mode when none is set)."""
        if self.internal_api_token and self.internal_api_token.get_secret_value():
            return self.internal_api_token.get_secret_value()
        return DEV_INTERNAL_API_TOKEN

    @property
    def allows_private_sip_destinations(self) -> bool:
        """Private termination hosts: as ALLOW_PRIVATE_SIP_DESTINATIONS says, else only in dev
        mode."""
        return self.allows_private(self.allow_private_sip_destinations)

    def livekit_credentials(self) -> tuple[str, str]:
        """LiveKit API key and secret (`livekit-server --dev`'s in dev mode when none are set)."""
        key = self.livekit_api_key or DEV_LIVEKIT_API_KEY
        secret = (
            self.livekit_api_secret.get_secret_value()
            if self.livekit_api_secret
            else DEV_LIVEKIT_API_SECRET
        )
        return key, secret

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
    max_deliveries: int = Field(
        default=8, ge=1, description="Tries of a failing message before it is dead-lettered."
    )
    retry_base_s: float = Field(default=0.5, gt=0, description="First retry delay (doubles).")
    retry_max_s: float = Field(default=30.0, gt=0)

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

    def livekit_credentials(self) -> tuple[str, str]:
        """LiveKit API key and secret (`livekit-server --dev`'s in dev mode when none are set)."""
        key = self.livekit_api_key or DEV_LIVEKIT_API_KEY
        secret = (
            self.livekit_api_secret.get_secret_value()
            if self.livekit_api_secret
            else DEV_LIVEKIT_API_SECRET
        )
        return key, secret

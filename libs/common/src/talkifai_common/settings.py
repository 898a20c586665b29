"""Settings shared by every service, read from the environment when a service builds them.

Nothing here reads the environment at import time: `main()` builds a settings object once and passes
it down. Outside dev mode, placeholder secrets are refused.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from talkifai_common.consumers import RetryPolicy

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"
PLACEHOLDER_SECRETS = frozenset({"", "secret", "changeme", "change-me", DEV_JWT_SECRET})


class ServiceSettings(BaseSettings):
    """Settings every service has: mode, logging, tracing, database, bus and auth."""

    # An empty variable means "not set", so `AUTH_JWT_AUDIENCE=` in an env file does not reject every token.
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, env_ignore_empty=True
    )

    dev_mode: bool = Field(default=False, description="Allows dev defaults and dev-only endpoints.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    host: str = "0.0.0.0"
    database_url: str = "postgresql://postgres@localhost:5432/postgres"
    database_pool_min: int = Field(default=2, ge=1)
    database_pool_max: int = Field(default=20, ge=1)
    nats_url: str = "nats://127.0.0.1:4222"
    auth_jwt_secret: SecretStr | None = None
    auth_jwks_url: str | None = None
    auth_jwt_audience: str | None = None
    auth_jwt_issuer: str | None = None
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    max_deliveries: int = Field(
        default=8, ge=1, description="Tries of a failing bus message before it is dead-lettered."
    )
    retry_base_s: float = Field(default=0.5, gt=0, description="First retry delay (doubles).")
    retry_max_s: float = Field(default=30.0, gt=0, description="Longest retry delay.")

    @model_validator(mode="after")
    def _auth_is_configured(self) -> ServiceSettings:
        if self.auth_jwks_url:
            return self
        secret = self.auth_jwt_secret.get_secret_value() if self.auth_jwt_secret else ""
        if secret in PLACEHOLDER_SECRETS and not self.dev_mode:
            raise ValueError(
                "AUTH_JWT_SECRET must be set to a real secret (or AUTH_JWKS_URL configured) "
                "outside dev mode"
            )
        if len(secret) < 32 and not self.dev_mode:
            raise ValueError("AUTH_JWT_SECRET must be at least 32 characters")
        return self

    def retry_policy(self) -> RetryPolicy:
        """How the service's durable consumers retry a failing message."""
        return RetryPolicy(self.max_deliveries, self.retry_base_s, self.retry_max_s)

    def allows_private(self, explicit: bool | None) -> bool:
        """An `ALLOW_PRIVATE_*` setting: set explicitly it wins, unset it follows dev mode."""
        return self.dev_mode if explicit is None else explicit

    def jwt_secret(self) -> str:
        """The HS256 secret, the dev default in dev mode when none is set."""
        if self.auth_jwt_secret and self.auth_jwt_secret.get_secret_value():
            return self.auth_jwt_secret.get_secret_value()
        return DEV_JWT_SECRET

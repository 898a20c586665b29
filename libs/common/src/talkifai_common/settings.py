"""Settings shared by the services, composed from one mixin per concern.

`ServiceSettings` is what every service has (mode, logging, bus, retries); a service's `Settings`
adds the mixins of what it uses: `DatabaseSettings`, `JwtAuthSettings`, `InternalTokenSettings`,
`LiveKitSettings`. Each mixin checks its own secrets in `refuse_placeholder_secrets` and hands on
to the next (left to right as the bases are listed), so a placeholder or missing secret outside dev
mode stops the service with a message naming the variable. Nothing here reads the environment at
import time: `main()` builds a settings object once and passes it down.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from talkifai_common.auth import HS256Verifier, JWKSVerifier, TokenVerifier
from talkifai_common.consumers import RetryPolicy

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"
DEV_INTERNAL_API_TOKEN = "dev-internal-token"
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "secret"
PLACEHOLDER_SECRETS = frozenset({"", "secret", "changeme", "change-me", DEV_JWT_SECRET})
RANDOM_SECRET_MIN_LENGTH = 24


class _Settings(BaseSettings):
    """The environment reading every settings class shares."""

    # An empty variable means "not set", so `AUTH_JWT_AUDIENCE=` in an env file does not reject every token.
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, env_ignore_empty=True
    )

    dev_mode: bool = Field(default=False, description="Allows dev defaults and dev-only endpoints.")

    @model_validator(mode="after")
    def _secrets_are_real(self) -> Self:
        if not self.dev_mode:
            self.refuse_placeholder_secrets()
        return self

    def refuse_placeholder_secrets(self) -> None:
        """Raise ValueError naming a secret that is missing or a placeholder (outside dev mode).

        A mixin with secrets checks them and calls `super().refuse_placeholder_secrets()`.
        """


def secret_value(secret: SecretStr | None) -> str:
    """The secret's text, empty when unset."""
    return secret.get_secret_value() if secret else ""


def require_random_secret(name: str, secret: SecretStr | None, dev_default: str) -> None:
    """Refuse a placeholder, the dev default or a short value for the variable `name`."""
    value = secret_value(secret)
    if (
        value in PLACEHOLDER_SECRETS
        or value == dev_default
        or len(value) < RANDOM_SECRET_MIN_LENGTH
    ):
        raise ValueError(
            f"{name} must be set to a random value of at least {RANDOM_SECRET_MIN_LENGTH} "
            "characters outside dev mode"
        )


class ServiceSettings(_Settings):
    """Settings every service has: mode, logging, the bus, shutdown and retries."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    host: str = "0.0.0.0"
    nats_url: str = "nats://127.0.0.1:4222"
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    max_deliveries: int = Field(
        default=8, ge=1, description="Tries of a failing bus message before it is dead-lettered."
    )
    retry_base_s: float = Field(default=0.5, gt=0, description="First retry delay (doubles).")
    retry_max_s: float = Field(default=30.0, gt=0, description="Longest retry delay.")

    def retry_policy(self) -> RetryPolicy:
        """How the service's durable consumers retry a failing message."""
        return RetryPolicy(self.max_deliveries, self.retry_base_s, self.retry_max_s)

    def allows_private(self, explicit: bool | None) -> bool:
        """An `ALLOW_PRIVATE_*` setting: set explicitly it wins, unset it follows dev mode."""
        return self.dev_mode if explicit is None else explicit


class DatabaseSettings(_Settings):
    """PostgreSQL: where, and how many connections."""

    database_url: str = "postgresql://postgres@localhost:5432/postgres"
    database_pool_min: int = Field(default=2, ge=1)
    database_pool_max: int = Field(default=20, ge=1)


class JwtAuthSettings(_Settings):
    """Verifying users' JWTs: an HS256 secret or a JWKS URL."""

    auth_jwt_secret: SecretStr | None = None
    auth_jwks_url: str | None = None
    auth_jwt_audience: str | None = None
    auth_jwt_issuer: str | None = None

    def refuse_placeholder_secrets(self) -> None:
        """An HS256 secret of at least 32 characters, unless a JWKS URL is configured."""
        secret = secret_value(self.auth_jwt_secret)
        if not self.auth_jwks_url and secret in PLACEHOLDER_SECRETS:
            raise ValueError(
                "AUTH_JWT_SECRET must be set to a real secret (or AUTH_JWKS_URL configured) "
                "outside dev mode"
            )
        if not self.auth_jwks_url and len(secret) < 32:
            raise ValueError("AUTH_JWT_SECRET must be at least 32 characters")
        super().refuse_placeholder_secrets()

    def jwt_secret(self) -> str:
        """The HS256 secret, the dev default in dev mode when none is set."""
        return secret_value(self.auth_jwt_secret) or DEV_JWT_SECRET

    def token_verifier(self) -> TokenVerifier:
        """RS256 through JWKS when configured, HS256 otherwise."""
        if self.auth_jwks_url:
            return JWKSVerifier(self.auth_jwks_url, self.auth_jwt_audience, self.auth_jwt_issuer)
        return HS256Verifier(self.jwt_secret(), self.auth_jwt_audience, self.auth_jwt_issuer)


class InternalTokenSettings(_Settings):
    """The bearer token services use with each other's internal endpoints."""

    internal_api_token: SecretStr | None = Field(
        default=None, description="Bearer token of the services' internal endpoints."
    )

    def refuse_placeholder_secrets(self) -> None:
        """A random internal token."""
        require_random_secret("INTERNAL_API_TOKEN", self.internal_api_token, DEV_INTERNAL_API_TOKEN)
        super().refuse_placeholder_secrets()

    def internal_token(self) -> str:
        """The internal bearer token (the dev token in dev mode when none is set)."""
        return secret_value(self.internal_api_token) or DEV_INTERNAL_API_TOKEN


class LiveKitSettings(_Settings):
    """LiveKit's server API: URL, key and secret."""

    livekit_url: str = "http://127.0.0.1:7880"
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None

    def refuse_placeholder_secrets(self) -> None:
        """A LiveKit key and a secret that is not a placeholder."""
        if not self.livekit_api_key or secret_value(self.livekit_api_secret) in PLACEHOLDER_SECRETS:
            raise ValueError("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set outside dev mode")
        super().refuse_placeholder_secrets()

    def livekit_credentials(self) -> tuple[str, str]:
        """LiveKit API key and secret (`livekit-server --dev`'s in dev mode when none are set)."""
        key = self.livekit_api_key or DEV_LIVEKIT_API_KEY
        secret = (
            self.livekit_api_secret.get_secret_value()
            if self.livekit_api_secret
            else DEV_LIVEKIT_API_SECRET
        )
        return key, secret

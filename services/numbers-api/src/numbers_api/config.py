"""numbers-api settings, read from the environment once by `main()`."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from talkifai_common.crypto import SecretBox, SecretBoxError
from talkifai_common.settings import (
    DatabaseSettings,
    InternalTokenSettings,
    JwtAuthSettings,
    ServiceSettings,
)

# Dev-mode default only; refused outside dev mode.
DEV_FERNET_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS1jaGFuZ2UtbWUtMDA="


class Settings(ServiceSettings, DatabaseSettings, JwtAuthSettings, InternalTokenSettings):
    """Everything numbers-api reads from the environment."""

    port: int = Field(default=8010, ge=1, le=65535, validation_alias="NUMBERS_API_PORT")
    fernet_keys: SecretStr | None = Field(
        default=None, description="Comma-separated Fernet keys, newest first."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    events_streams_per_token: int = Field(
        default=5, ge=1, description="Concurrent `GET /events` streams one token may hold."
    )
    events_streams_per_org: int = Field(
        default=100, ge=1, description="Concurrent `GET /events` streams of one organization."
    )
    allow_private_webhooks: bool | None = Field(
        default=None,
        description="Accept webhook URLs on hosts that are not globally routable (unset: only "
        "in dev mode).",
    )
    allow_private_sip_destinations: bool | None = Field(
        default=None,
        description="Accept termination URIs on hosts that are not globally routable (unset: "
        "only in dev mode).",
    )
    allow_private_model_servers: bool | None = Field(
        default=None,
        description="Accept agents' model server URLs (`base_url`) on hosts that are not "
        "globally routable, e.g. an in-cluster Ollama (unset: only in dev mode).",
    )

    trunk_check_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=30,
        description="Each network step of a trunk check (DNS, connect, "
        "TLS, OPTIONS) gives up after this long.",
    )
    trunk_check_interval_s: float = Field(
        default=6 * 3600.0,
        ge=0,
        description="Numbers with a termination URI are re-checked this long after their last "
        "check, or after their creation when never checked (0: only on request).",
    )
    trunk_check_batch: int = Field(
        default=5, ge=1, le=100, description="Numbers one periodic pass checks at most."
    )

    @model_validator(mode="after")
    def _fernet_keys_are_real(self) -> Settings:
        keys = self.fernet_keys.get_secret_value() if self.fernet_keys else ""
        if not self.dev_mode and (not keys or DEV_FERNET_KEY in keys):
            raise ValueError("FERNET_KEYS must be set to real Fernet keys outside dev mode")
        if keys:
            try:
                SecretBox.from_csv(keys)
            except SecretBoxError as exc:
                raise ValueError(f"FERNET_KEYS: {exc}") from exc
        return self

    def secret_box(self) -> SecretBox:
        """The SIP password box (the dev key in dev mode when none is set)."""
        keys = self.fernet_keys.get_secret_value() if self.fernet_keys else DEV_FERNET_KEY
        return SecretBox.from_csv(keys)

    @property
    def allows_private_webhooks(self) -> bool:
        """Webhooks to private hosts: as ALLOW_PRIVATE_WEBHOOKS says, else only in dev mode."""
        return self.allows_private(self.allow_private_webhooks)

    @property
    def allows_private_model_servers(self) -> bool:
        """Private model servers: as ALLOW_PRIVATE_MODEL_SERVERS says, else only in dev mode."""
        return self.allows_private(self.allow_private_model_servers)

    @property
    def allows_private_sip_destinations(self) -> bool:
        """Private termination hosts: as ALLOW_PRIVATE_SIP_DESTINATIONS says, else only in dev
        mode."""
        return self.allows_private(self.allow_private_sip_destinations)

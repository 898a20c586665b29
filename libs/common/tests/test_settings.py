"""Settings mixins refuse placeholder secrets outside dev mode, each naming its variable."""

import pytest
from pydantic import ValidationError

from talkifai_common.settings import (
    DEV_JWT_SECRET,
    DatabaseSettings,
    InternalTokenSettings,
    JwtAuthSettings,
    LiveKitSettings,
    ServiceSettings,
)

pytestmark = pytest.mark.unit


def test_dev_mode_allows_the_dev_secret() -> None:
    settings = JwtAuthSettings(dev_mode=True)
    assert settings.jwt_secret() == DEV_JWT_SECRET


@pytest.mark.parametrize("secret", [None, "secret", DEV_JWT_SECRET, "short-but-not-placeholder"])
def test_outside_dev_mode_a_real_jwt_secret_is_required(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET"):
        JwtAuthSettings(dev_mode=False, auth_jwt_secret=secret)


def test_a_jwks_url_replaces_the_secret() -> None:
    settings = JwtAuthSettings(dev_mode=False, auth_jwks_url="https://idp.example.com/jwks.json")
    assert settings.auth_jwks_url


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example.com/x")
    monkeypatch.setenv("DEV_MODE", "true")
    assert DatabaseSettings().database_url == "postgresql://db.example.com/x"


def test_a_service_without_jwt_or_database_has_neither_their_fields_nor_their_checks() -> None:
    settings = ServiceSettings(dev_mode=False)
    assert not hasattr(settings, "database_url")
    assert not hasattr(settings, "auth_jwt_secret")


@pytest.mark.parametrize("token", [None, "dev-internal-token", "secret", "too-short-token"])
def test_outside_dev_mode_the_internal_token_must_be_random(token: str | None) -> None:
    with pytest.raises(ValidationError, match="INTERNAL_API_TOKEN"):
        InternalTokenSettings(dev_mode=False, internal_api_token=token)


def test_outside_dev_mode_livekit_credentials_are_required() -> None:
    with pytest.raises(ValidationError, match="LIVEKIT_API_KEY and LIVEKIT_API_SECRET"):
        LiveKitSettings(dev_mode=False, livekit_api_key="key", livekit_api_secret="secret")


def test_dev_mode_falls_back_to_the_dev_livekit_credentials() -> None:
    assert LiveKitSettings(dev_mode=True).livekit_credentials() == ("devkey", "secret")

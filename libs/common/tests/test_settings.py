"""Settings refuse placeholder secrets outside dev mode."""

import pytest
from pydantic import ValidationError

from talkifai_common.settings import DEV_JWT_SECRET, ServiceSettings


def test_dev_mode_allows_the_dev_secret() -> None:
    settings = ServiceSettings(dev_mode=True)
    assert settings.jwt_secret() == DEV_JWT_SECRET


@pytest.mark.parametrize("secret", [None, "secret", DEV_JWT_SECRET, "short-but-not-placeholder"])
def test_outside_dev_mode_a_real_jwt_secret_is_required(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET"):
        ServiceSettings(dev_mode=False, auth_jwt_secret=secret)


def test_a_jwks_url_replaces_the_secret() -> None:
    settings = ServiceSettings(dev_mode=False, auth_jwks_url="https://idp.example.com/jwks.json")
    assert settings.auth_jwks_url


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example.com/x")
    monkeypatch.setenv("DEV_MODE", "true")
    assert ServiceSettings().database_url == "postgresql://db.example.com/x"

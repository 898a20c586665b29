"""Configuration refuses unsafe production settings; the OpenAPI document is complete."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from numbers_api.config import Settings
from talkifai_common.crypto import generate_key
from tests.support.api_docs import assert_docs_served_locally
from tests.support.numbers_api import Api

REAL: dict[str, Any] = {
    "auth_jwt_secret": "x" * 40,
    "fernet_keys": generate_key(),
    "internal_api_token": "t" * 32,
}


def test_production_settings_with_real_secrets_are_accepted() -> None:
    Settings(dev_mode=False, **REAL)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"fernet_keys": None}, "FERNET_KEYS"),
        ({"fernet_keys": "not-a-key"}, "FERNET_KEYS"),
        ({"internal_api_token": None}, "INTERNAL_API_TOKEN"),
        ({"internal_api_token": "dev-internal-token"}, "INTERNAL_API_TOKEN"),
        ({"auth_jwt_secret": "secret"}, "AUTH_JWT_SECRET"),
    ],
)
def test_placeholder_or_missing_secrets_are_refused_outside_dev_mode(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(dev_mode=False, **{**REAL, **override})


def test_dev_mode_runs_with_no_secrets_configured() -> None:
    settings = Settings(dev_mode=True)
    assert settings.secret_box().decrypt(settings.secret_box().encrypt("x")) == "x"


def test_private_destinations_follow_dev_mode_unless_set_explicitly() -> None:
    dev = Settings(dev_mode=True)
    guarded = Settings(
        dev_mode=True, allow_private_webhooks=False, allow_private_sip_destinations=False
    )
    assert dev.allows_private_webhooks and dev.allows_private_sip_destinations
    assert not guarded.allows_private_webhooks
    assert not guarded.allows_private_sip_destinations
    assert not Settings(dev_mode=False, **REAL).allows_private_sip_destinations


async def test_openapi_documents_routes_errors_and_examples(api: Api) -> None:
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for path in (
        "/agents",
        "/agents/{agent_id}",
        "/phone-numbers",
        "/phone-numbers/{number_id}",
        "/phone-numbers/agent-assignments",
        "/events",
    ):
        assert path in paths, path
    assert "/dev/token" not in paths  # dev mode only
    create = paths["/phone-numbers"]["post"]
    for status in ("401", "403", "409", "422"):
        assert "application/problem+json" in create["responses"][status]["content"]
    schemas = spec["components"]["schemas"]
    assert "sip_password" not in schemas["PhoneNumberData"]["properties"]
    assert schemas["PhoneNumberCreate"]["examples"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_docs_and_redoc_load_their_assets_from_the_service_itself(api: Api) -> None:
    await assert_docs_served_locally(api.http)

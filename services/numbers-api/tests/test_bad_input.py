"""Bad input: clear 4xx problems, never a 500, never a half-applied change."""

from __future__ import annotations

import pytest

from tests.support.numbers_api import Api


async def test_malformed_json_is_a_400(api: Api) -> None:
    response = await api.request(
        "POST",
        "/phone-numbers",
        content=b'{"phone_number": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]


async def test_missing_body_is_a_400(api: Api) -> None:
    response = await api.request("POST", "/phone-numbers")
    assert response.status_code == 400
    assert response.json()["detail"] == "Request body is required"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_number": 12025550123}, "phone_number"),
        ({"phone_number": "+12025550123", "termination_uri": ["x"]}, "termination_uri"),
        ({"phone_number": "+12025550123", "password": "oops"}, "password"),
        ({"phone_number": "+12025550123", "sip_username": "has space"}, "sip_username"),
    ],
)
async def test_wrong_types_and_unknown_fields_name_the_field(
    api: Api, body: dict[str, object], field: str
) -> None:
    response = await api.request("POST", "/phone-numbers", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_json_array_body_is_refused(api: Api) -> None:
    response = await api.request("POST", "/agents", json=[1, 2])
    assert response.status_code == 422


async def test_oversized_body_is_a_413(api: Api) -> None:
    response = await api.request(
        "POST",
        "/agents",
        json={"name": "A", "architecture": "pipeline", "instructions": "x" * 200_000},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_missing_bad_and_expired_tokens_are_401(api: Api) -> None:
    from talkifai_common.auth import Role, issue_hs256_token

    assert (await api.http.get("/phone-numbers")).status_code == 401
    forged = issue_hs256_token(
        "another-secret-that-is-long-enough-0000", sub="x", org_id="o", role=Role.OWNER
    )
    expired = issue_hs256_token(
        "test-jwt-secret-0123456789-abcdefghijklmnop",
        sub="x",
        org_id="o",
        role=Role.OWNER,
        ttl_s=-10,
    )
    for token in ("garbage", forged, expired):
        response = await api.http.get(
            "/phone-numbers", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_route_and_method_are_problems(api: Api) -> None:
    assert (await api.request("GET", "/nope")).status_code == 404
    response = await api.request("PUT", "/agents")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


async def test_refused_update_leaves_the_number_untouched(api: Api) -> None:
    number = await api.number(
        termination_uri="trunk.example.com", webhook_url="https://a.example.com/h"
    )
    response = await api.request(
        "PATCH",
        f"/phone-numbers/{number['id']}",
        json={"termination_uri": "other.example.com", "webhook_url": "gopher://x"},
    )
    assert response.status_code == 422
    after = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
    assert after == number


async def test_no_secret_reaches_a_response_or_a_log_line(
    api: Api, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "hunter2-very-secret"
    ok = await api.request(
        "POST", "/phone-numbers", json={"phone_number": "+12025550123", "sip_password": secret}
    )
    refused = await api.request(
        "POST", "/phone-numbers", json={"phone_number": "not-a-number", "sip_password": secret}
    )
    too_long = await api.request(
        "POST", "/phone-numbers", json={"phone_number": "+12025550124", "sip_password": secret * 20}
    )
    assert (ok.status_code, refused.status_code, too_long.status_code) == (201, 422, 422)
    for response in (ok, refused, too_long):
        assert secret not in response.text
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err + caplog.text

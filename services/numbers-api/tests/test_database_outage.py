"""The API while its database is away: 503 with Retry-After, nothing half-applied, back after."""

from __future__ import annotations

import pytest

from numbers_api.config import Settings
from tests.support.consumers import database_down
from tests.support.numbers_api import Api


async def test_requests_during_a_database_outage_are_503_and_change_nothing(
    api: Api, settings: Settings, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await api.number("+12025550123")
    async with database_down(postgres_url, settings.database_url):
        for method, path, body in [
            ("GET", "/phone-numbers", None),
            ("GET", f"/phone-numbers/{before['id']}", None),
            ("POST", "/phone-numbers", {"phone_number": "+12025550124"}),
            ("DELETE", f"/phone-numbers/{before['id']}", None),
        ]:
            response = await api.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "1"
            assert response.json() == {
                "type": "about:blank",
                "title": "Service unavailable",
                "status": 503,
                "detail": "The database is unavailable; try again shortly",
            }
    # An outage is expected weather, not a bug: no traceback, no "Exception in ASGI application".
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("uvicorn")]

    listed = (await api.request("GET", "/phone-numbers")).json()["items"]
    assert [n["id"] for n in listed] == [before["id"]]
    assert (await api.number("+12025550124"))["phone_number"] == "+12025550124"

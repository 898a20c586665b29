"""Every failure of `POST /telephony/outbound-call` in its own body; invalid text is never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.call_orchestrator import Harness

TO = "+12025550123"
FROM = "+12025550100"
OUTBOUND = "/telephony/outbound-call"


def _assert_own_body(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"] == error
    assert body["message"]
    return body


async def test_an_oversized_body_is_a_413_in_the_routes_own_body(harness: Harness) -> None:
    response = await harness.call(TO, FROM, metadata={"notes": "x" * 100_000})

    body = _assert_own_body(response, 413, "request_too_large")
    assert "at most" in body["message"]


async def _chunks() -> AsyncIterator[bytes]:
    yield b'{"to_number": "+12025550123", "from_number": "+12025550100", "metadata": {"n": "'
    for _ in range(100):
        yield b"x" * 1024
    yield b'"}}'


async def test_a_chunked_body_over_the_limit_is_a_413_in_the_routes_own_body(
    harness: Harness,
) -> None:
    response = await harness.http.post(
        OUTBOUND,
        content=_chunks(),
        headers={**harness.headers(), "content-type": "application/json"},
    )

    _assert_own_body(response, 413, "request_too_large")


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe{}", b"[" * 30_000 + b"]" * 30_000],
    ids=["not-utf8", "nested-past-the-parser"],
)
async def test_an_unparsable_body_is_a_400_in_the_routes_own_body(
    harness: Harness, content: bytes
) -> None:
    response = await harness.http.post(
        OUTBOUND,
        content=content,
        headers={**harness.headers(), "content-type": "application/json"},
    )

    _assert_own_body(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"to_number": "+1202555\u00000123"}, "to_number"),
        ({"metadata": {"customer": "a\u0000b"}}, "metadata.customer"),
        ({"ringing_timeout_s": "30"}, "ringing_timeout_s"),
        ({"ringing_timeout_s": True}, "ringing_timeout_s"),
        ({"wait_until_answered": 0}, "wait_until_answered"),
    ],
)
async def test_invalid_text_and_confused_types_are_400_naming_the_field(
    harness: Harness, extra: dict[str, Any], field: str
) -> None:
    await harness.seed()

    response = await harness.call(**{"to_number": TO, "from_number": FROM, **extra})

    body = _assert_own_body(response, 400, "invalid_request")
    assert body["message"].startswith(f"{field}: ")


async def test_an_unpaired_surrogate_in_metadata_is_a_400_naming_it(harness: Harness) -> None:
    await harness.seed()
    body = f'{{"to_number": "{TO}", "from_number": "{FROM}", "metadata": {{"k": "a\\ud800"}}}}'

    response = await harness.http.post(
        OUTBOUND,
        content=body.encode(),
        headers={**harness.headers(), "content-type": "application/json"},
    )

    assert _assert_own_body(response, 400, "invalid_request")["message"].startswith("metadata.k: ")


async def test_deeply_nested_metadata_is_a_400_naming_where(harness: Harness) -> None:
    nested: object = "x"
    for _ in range(40):
        nested = {"k": nested}

    response = await harness.call(TO, FROM, metadata=nested)

    body = _assert_own_body(response, 400, "invalid_request")
    assert body["message"].startswith("metadata.k.k")
    assert "Nested too deeply" in body["message"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/calls/call%00x", "call_id"),
        ("/calls?phone_number=%2B1%00", "phone_number"),
        ("/calls?cursor=%00", "cursor"),
    ],
)
async def test_nul_in_the_history_routes_is_a_422_problem_naming_it(
    harness: Harness, path: str, field: str
) -> None:
    response = await harness.http.get(path, headers=harness.headers())

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_internal_routes_are_not_in_the_public_openapi(harness: Harness) -> None:
    paths = (await harness.http.get("/openapi.json")).json()["paths"]

    assert OUTBOUND in paths
    assert not [path for path in paths if path.startswith("/internal")]

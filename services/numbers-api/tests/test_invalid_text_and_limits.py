"""Invalid text, deep nesting and oversized bodies: 4xx problems naming the field, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.numbers_api import Api

NUL = "\u0000"


async def test_nul_in_a_body_field_is_a_422_naming_the_field(api: Api) -> None:
    response = await api.request(
        "POST", "/agents", json={"name": f"Sales{NUL}", "architecture": "pipeline"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["name"]


async def test_nul_in_a_nested_body_field_names_its_path(api: Api) -> None:
    response = await api.request(
        "POST",
        "/agents",
        json={"name": "Sales", "architecture": "pipeline", "llm": {"model": f"gpt{NUL}"}},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["llm.model"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/phone-numbers?search=%00", "search"),
        ("/phone-numbers?cursor=abc%00", "cursor"),
        ("/agents?cursor=%00", "cursor"),
        ("/agents/agent%00x", "agent_id"),
        ("/phone-numbers/pn%00", "number_id"),
    ],
)
async def test_nul_in_a_query_or_path_is_a_422_naming_it(api: Api, path: str, field: str) -> None:
    response = await api.request("GET", path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_nul_in_a_delete_path_is_a_422(api: Api) -> None:
    response = await api.request("DELETE", "/agents/a%00")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["agent_id"]


async def test_deeply_nested_json_is_a_422_naming_where(api: Api) -> None:
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    response = await api.request(
        "POST", "/agents", json={"name": "A", "architecture": "pipeline", "llm": nested}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("llm.a.a")
    assert "Nested too deeply" in response.json()["detail"]


async def _chunks(size: int) -> AsyncIterator[bytes]:
    yield b'{"name": "A", "architecture": "pipeline", "instructions": "'
    for _ in range(size // 1024):
        yield b"x" * 1024
    yield b'"}'


async def test_a_chunked_body_over_the_limit_is_a_413(api: Api) -> None:
    response = await api.request(
        "POST", "/agents", content=_chunks(200_000), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/agents", "GET, POST"),
        ("POST", "/agents/a1", "DELETE, GET, PATCH"),
        ("PUT", "/phone-numbers/pn_1", "DELETE, GET, PATCH"),
    ],
)
async def test_a_405_lists_every_method_of_the_path(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("temperature", [False, "0.5"])
async def test_a_temperature_of_another_type_is_refused(api: Api, temperature: object) -> None:
    response = await api.request(
        "POST",
        "/agents",
        json={"name": "A", "architecture": "pipeline", "llm": {"temperature": temperature}},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["llm.temperature"]


async def test_an_integer_temperature_is_still_a_temperature(api: Api) -> None:
    agent = await api.agent(llm={"temperature": 1})
    assert agent["llm"]["temperature"] == 1.0


async def test_internal_routes_are_not_in_the_public_openapi(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    assert "/phone-numbers" in paths
    assert not [path for path in paths if path.startswith("/internal")]

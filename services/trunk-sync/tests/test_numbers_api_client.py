"""trunk-sync's reads of numbers-api: batched, traced, failing together, and working against an
older numbers-api without the batch endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from talkifai_common import devinfra
from tests.support.numbers_api import Api
from tests.support.servers import already_started, serve_asgi
from tests.support.trunk_sync import INTERNAL_TOKEN
from trunk_sync.adapters.numbers_api import ForSync, NumbersApiClient
from trunk_sync.domain import NumbersApiUnavailable

tracer = trace.get_tracer("tests")


async def read_in_spans(client: NumbersApiClient, ids: list[str]) -> list[Any]:
    """Read each number from its own span, all in the same turn of the loop."""

    async def read(number_id: str) -> ForSync:
        with tracer.start_as_current_span(f"sync {number_id}"):
            return await client.number_for_sync(number_id)

    return await asyncio.gather(*(read(i) for i in ids), return_exceptions=True)


async def test_reads_asked_for_together_go_as_one_request_linked_to_each_sync(
    api: Api, spans: InMemorySpanExporter
) -> None:
    first = await api.number("+12025550101", sip_username="u", sip_password="pw-first")
    second = await api.number("+12025550102", org_id="org_b")
    client = NumbersApiClient(api.base_url, INTERNAL_TOKEN, timeout_s=5)
    spans.clear()
    try:
        results = await read_in_spans(client, [first["id"], "pn_missing", second["id"]])
    finally:
        await client.aclose()

    (number_a, creds_a), missing, (number_b, _) = results
    assert number_a.id == first["id"] and number_a.org_id == "org_a"
    assert creds_a.version == number_a.version
    assert creds_a.sip_password.get_secret_value() == "pw-first"
    assert missing == (None, None)  # deleted (or never existed): trunk-sync removes its trunks
    assert number_b.id == second["id"] and number_b.org_id == "org_b"
    finished = spans.get_finished_spans()
    (batch,) = [s for s in finished if s.name == "numbers_api.read_for_sync"]
    assert batch.attributes is not None and batch.attributes["phone_number.count"] == 3
    callers = {s.context.span_id for s in finished if s.name.startswith("sync ")}
    assert {link.context.span_id for link in batch.links} == callers
    # numbers-api's request continues the batch's trace.
    assert any(
        s.kind is trace.SpanKind.SERVER
        and s.parent is not None
        and s.parent.span_id == batch.context.span_id
        for s in finished
    )


async def test_every_waiting_read_fails_when_numbers_api_is_unreachable() -> None:
    client = NumbersApiClient(f"http://127.0.0.1:{devinfra.free_port()}", "t", timeout_s=1)
    try:
        results = await read_in_spans(client, ["pn_1", "pn_2", "pn_1"])
    finally:
        await client.aclose()
    assert all(isinstance(r, NumbersApiUnavailable) for r in results), results


def without_batch_reads(app: Any) -> Any:
    """numbers-api as it was before `POST /internal/phone-numbers/for-sync` (rolling upgrades)."""
    running = already_started(app)

    async def older(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/internal/phone-numbers/for-sync"
        ):
            # What the older router answers: the path matches `GET .../{number_id}` only.
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await running(scope, receive, send)

    return older


async def test_an_older_numbers_api_is_read_one_number_at_a_time(api: Api) -> None:
    number = await api.number("+12025550103", sip_username="u", sip_password="pw-old")
    async with serve_asgi(without_batch_reads(api.app)) as older_url:
        client = NumbersApiClient(older_url, INTERNAL_TOKEN, timeout_s=5)
        try:
            (found, creds), missing = await read_in_spans(client, [number["id"], "pn_missing"])
        finally:
            await client.aclose()
    assert found.id == number["id"]
    assert creds.sip_password.get_secret_value() == "pw-old"
    assert missing == (None, None)


@pytest.mark.parametrize("count", [501, 1200])
async def test_more_reads_than_one_request_takes_are_split(api: Api, count: int) -> None:
    number = await api.number("+12025550104")
    ids = [number["id"]] + [f"pn_missing_{i}" for i in range(count - 1)]
    client = NumbersApiClient(api.base_url, INTERNAL_TOKEN, timeout_s=10)
    try:
        results = await read_in_spans(client, ids)
    finally:
        await client.aclose()
    assert results[0][0].id == number["id"]
    assert all(r == (None, None) for r in results[1:])

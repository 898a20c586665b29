"""Customer webhooks (signed, retried, SSRF-guarded) and call recording."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_orchestrator.adapters.webhooks import verify
from tests.support.call_orchestrator import INTERNAL_TOKEN, SIGNING_SECRET, Harness, eventually
from tests.support.servers import serve_asgi

TO = "+12025550123"


@dataclass
class Receiver:
    """A customer's webhook endpoint that fails its first `failures` requests."""

    failures: int = 1
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        if len(self.received) <= self.failures:
            return Response(status_code=500)
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hook", rec.endpoint, methods=["POST"])])
    async with serve_asgi(app) as base:
        rec.url = f"{base}/hook"
        yield rec


async def test_call_events_reach_the_numbers_webhook_signed_and_retried(
    harness: Harness, receiver: Receiver
) -> None:
    seeded = await harness.seed(webhook_url=receiver.url)

    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    def delivered_ids(received: list[tuple[dict[str, str], bytes]]) -> set[str]:
        return {h["x-talkifai-event-id"] for h, _ in received[receiver.failures :]}

    await eventually(lambda: _async(receiver.received), lambda r: len(delivered_ids(r)) >= 2)
    events = await harness.events_for(call_id, 2)
    assert {e["id"] for e in events} == delivered_ids(receiver.received)
    for headers, body in receiver.received:
        assert verify(SIGNING_SECRET, headers["x-talkifai-signature"], body)
        assert not verify("another-secret", headers["x-talkifai-signature"], body)
        payload = json.loads(body)
        assert payload["subject"] == call_id
        assert headers["x-talkifai-event-type"] == payload["type"]
    conn = await harness.db()
    attempts = await eventually(
        lambda: conn.fetch(
            "SELECT d.state, count(a.id) AS attempts FROM webhook_deliveries d "
            "JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.call_id = $1 GROUP BY d.id",
            call_id,
        ),
        lambda rows: len(rows) == 2 and {r["state"] for r in rows} == {"delivered"},
    )
    assert sorted(r["attempts"] for r in attempts) == [1, 2]


async def _async(value: Any) -> Any:
    return value


@pytest.mark.parametrize("overrides", [{"allow_private_webhooks": False}])
async def test_webhooks_to_private_addresses_are_refused(
    harness: Harness, receiver: Receiver
) -> None:
    seeded = await harness.seed(webhook_url=receiver.url)
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    conn = await harness.db()

    rows = await eventually(
        lambda: conn.fetch(
            "SELECT state, last_error FROM webhook_deliveries WHERE call_id = $1", call_id
        ),
        lambda rs: len(rs) == 2 and all(r["state"] == "failed" for r in rs),
    )
    assert all("not 127.0.0.1" in r["last_error"] for r in rows)
    assert receiver.received == []


async def test_record_all_starts_an_audio_egress_when_answered(harness: Harness) -> None:
    seeded = await harness.seed(recording_mode="all")

    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    call = await harness.wait_call(call_id, lambda c: c["recording_egress_id"] is not None)
    [egress] = (await harness.lk.control.state())["egresses"]
    assert egress["egress_id"] == call["recording_egress_id"]
    assert egress["room_composite"]["audio_only"] is True
    assert egress["room_name"] == call["room_name"]


async def test_disabled_recording_starts_no_egress(harness: Harness) -> None:
    seeded = await harness.seed(recording_mode="disabled")

    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    assert (await harness.get_call(call_id)).json()["recording_egress_id"] is None
    assert (await harness.lk.control.state())["egresses"] == []


async def test_consent_reported_by_the_agent_starts_the_recording(harness: Harness) -> None:
    seeded = await harness.seed(recording_mode="consent")
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    assert (await harness.lk.control.state())["egresses"] == []
    path = f"/internal/calls/{call_id}/recording-consent"

    as_user = await harness.http.post(path, json={"consent": True}, headers=harness.headers())
    consent = await harness.http.post(
        path, json={"consent": True}, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    )
    again = await harness.http.post(
        path, json={"consent": True}, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    )

    assert as_user.status_code == 401
    assert consent.status_code == 200, consent.text
    assert again.json() == consent.json()
    [egress] = (await harness.lk.control.state())["egresses"]
    assert consent.json() == {"call_id": call_id, "recording_egress_id": egress["egress_id"]}


async def test_consent_on_a_number_that_records_everything_or_nothing_is_409(
    harness: Harness,
) -> None:
    seeded = await harness.seed(recording_mode="disabled")
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    response = await harness.http.post(
        f"/internal/calls/{call_id}/recording-consent",
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )

    assert response.status_code == 409
    assert "not consent" in response.json()["detail"]

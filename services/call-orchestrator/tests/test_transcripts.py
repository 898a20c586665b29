"""Call transcripts: agent-runtime's events stored, served per organization, and reported to the
number's webhook (signed) once the call has ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from call_orchestrator.adapters.webhooks import verify
from talkifai_common.auth import Role
from talkifai_common.events import CallTranscriptData, EventName
from tests.support.call_orchestrator import SIGNING_SECRET, Harness, Seeded, eventually
from tests.support.call_reports import REPORT, Hook, customer_hook, transcript_parts

TO = "+12025550123"


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    async with customer_hook() as running:
        yield running


async def _answered_call(harness: Harness, hook: Hook) -> tuple[Seeded, dict[str, Any]]:
    seeded = await harness.seed(webhook_url=hook.url)
    answer = await harness.call(TO, seeded.phone_number)
    assert answer.status_code == 200, answer.text
    return seeded, answer.json()


async def _publish(harness: Harness, seeded: Seeded, part: CallTranscriptData) -> None:
    subject = part.call_id or part.room_name
    await harness.publish(EventName.CALL_TRANSCRIPT, seeded.org_id, subject, part)


async def test_a_transcript_is_served_to_its_organization_and_reported_to_the_webhook(
    harness: Harness, hook: Hook
) -> None:
    seeded, answer = await _answered_call(harness, hook)
    call_id = answer["call_id"]
    sip_call_id = (await harness.get_call(call_id)).json()["sip_call_id"]
    await harness.lk.control.hangup(sip_call_id)
    await harness.wait_call(call_id, lambda c: c["status"] == "completed")
    path = f"/calls/{call_id}/transcript"
    assert (await harness.http.get(path, headers=harness.headers())).status_code == 404

    first, second = transcript_parts(call_id, seeded, answer["room_name"])
    # Parts may arrive in any order, and more than once.
    for part in (second, second, first):
        await _publish(harness, seeded, part)

    response = await eventually(
        lambda: harness.http.get(path, headers=harness.headers()),
        lambda r: r.status_code == 200,
    )
    body = response.json()
    assert [(i["role"], i["text"]) for i in body["items"]] == [
        ("agent", "Hello! How can I help?"),
        ("user", "Book a table, my card is [redacted card number]."),
        ("agent", "Booked. Goodbye!"),
        ("tool", "The call has ended."),
    ]
    assert body["items"][3]["tool_name"] == "end_call"
    assert (body["call_id"], body["agent_id"], body["truncated"]) == (
        call_id,
        seeded.agent.id,
        False,
    )
    other_org = await harness.http.get(path, headers=harness.headers("org_b", Role.OWNER))
    assert other_org.status_code == 404
    assert "transcript" not in other_org.json()["detail"]

    [(headers, report)] = await eventually(hook.reports, lambda r: len(r) >= 1)
    raw = next(b for h, b in hook.received if h["x-talkifai-event-type"] == REPORT)
    assert verify(SIGNING_SECRET, headers["x-talkifai-signature"], raw)
    assert headers["x-talkifai-event-id"] == report["id"]
    assert (report["subject"], report["orgid"]) == (call_id, "org_a")
    data = report["data"]
    assert data["call"]["status"] == "completed"
    assert data["call"]["duration_s"] is not None
    assert data["call"]["total_duration_s"] >= data["call"]["duration_s"]
    assert data["outcome"] == "agent_ended"
    assert data["transcript"]["items"] == body["items"]
    assert data["usage"]["llm_input_tokens"] == 120
    # Priced from the transcript's usage (no usage event in this test); nothing recorded.
    assert data["call"]["cost"]["total"] is not None
    assert data["recording_url"] is None
    # The report is queued once, whatever is delivered again later.
    await _publish(harness, seeded, first)
    events = await harness.settled_events()
    assert sum(e["type"] == "talkifai.telephony.call.transcript.v1" for e in events) == 4
    assert len(await hook.reports()) == 1
    conn = await harness.db()
    reports = await conn.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE call_id = $1 AND payload LIKE $2",
        call_id,
        f'%"type":"{REPORT}"%',
    )
    assert reports == 1


async def test_the_report_of_a_call_still_live_waits_until_it_ends(
    harness: Harness, hook: Hook
) -> None:
    seeded, answer = await _answered_call(harness, hook)
    call_id = answer["call_id"]
    for part in transcript_parts(call_id, seeded, answer["room_name"]):
        await _publish(harness, seeded, part)
    path = f"/calls/{call_id}/transcript"
    await eventually(
        lambda: harness.http.get(path, headers=harness.headers()),
        lambda r: r.status_code == 200,
    )
    assert await hook.reports() == []

    owner = harness.headers(role=Role.OWNER)
    assert (await harness.http.post(f"/calls/{call_id}/hangup", headers=owner)).status_code == 200

    [(_, report)] = await eventually(hook.reports, lambda r: len(r) >= 1, within_s=15)
    assert report["data"]["call"]["status"] == "completed"
    assert report["data"]["outcome"] == "hung_up_by_user"


async def test_an_inbound_transcript_without_a_call_id_finds_its_call_by_room(
    harness: Harness, hook: Hook
) -> None:
    seeded, answer = await _answered_call(harness, hook)
    parts = [
        p.model_copy(update={"call_id": None})
        for p in transcript_parts(answer["call_id"], seeded, answer["room_name"])
    ]
    for part in parts:
        await _publish(harness, seeded, part)

    response = await eventually(
        lambda: harness.http.get(
            f"/calls/{answer['call_id']}/transcript", headers=harness.headers()
        ),
        lambda r: r.status_code == 200,
    )
    assert len(response.json()["items"]) == 4
